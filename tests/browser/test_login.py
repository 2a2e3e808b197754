"""The real login form in Chromium, with a screenshot of the home page."""

import datetime as dt
from pathlib import Path

import pytest

from planning.demo import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_planner_logs_in_and_sees_the_current_cycle(login_page, live_server):
    demo_load(today=dt.date.today())
    page = login_page("planner", "sofp-demo")
    assert page.url == f"{live_server.url}/"
    assert page.locator("h1").inner_text().startswith("Cycle ")
    assert page.locator(".step").count() == 5
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 1 and "PUMPS" in rows.first.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)


def test_wrong_password_stays_on_login_with_a_message(login_page):
    page = login_page("nobody", "wrong")
    assert "/accounts/login/" in page.url
    assert page.locator(".error-box").is_visible()
