"""Issue 15's remaining points in Chromium: notifications clear when their cause ends,
``/api/v1/`` lists the endpoints, friendly pages for unknown cycles and bad months, the
grid's empty subtotals, long labels and times in the company's zone."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from planning.models import Notification, PlanningCycle
from planning.services.cycles import cycle_start
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.reminders import reminders_send
from tests.factories import CycleFactory, ProductFamilyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / os.environ.get("SOFP_SCREENSHOTS", "var/screenshots")
JAN, FEB, MAR, APR = (dt.date(2027, m, 1) for m in (1, 2, 3, 4))
LONG_NAME = "Submersible borehole pumps with variable-frequency drive, stainless steel, ATEX"


def _shot(page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / name), full_page=False)


def test_step5_overdue_notice_clears_when_the_plan_is_approved(
    company, executive, planner_a, login_page, live_server
):
    cycle, _ = cycle_start(month=JAN, user=executive)
    step5 = cycle.steps.get(number=5)
    reminders_send(now=step5.meeting_end + dt.timedelta(hours=1))
    assert Notification.objects.filter(step=step5, kind="overdue", user=executive).exists()
    page = login_page(executive.username)
    page.goto(f"{live_server.url}/notifications/?unread=1")
    unread = page.locator("tr.unread", has_text="overdue")
    expect(unread.first).to_be_visible()
    badge = page.locator(".nav-notifications .nav-badge")
    expect(badge).to_be_visible()
    # Approve (steps 1–4 are not done: with an override reason), as the executive does.
    page.goto(f"{live_server.url}/cycles/{cycle.label}/")
    page.fill("#override-reason", "Board met early; steps covered in the meeting.")
    page.click("[data-testid=approve-plan]")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Yes, approve").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=cycle-status]")).to_have_text("Approved (frozen)")
    # The overdue notice's cause has ended: it is no longer unread, the badge is gone.
    page.goto(f"{live_server.url}/notifications/?unread=1")
    expect(page.locator("tr.unread", has_text="overdue")).to_have_count(0)
    expect(page.locator(".nav-notifications .nav-badge")).to_have_count(0)
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator("tr", has_text="overdue").first).to_contain_text("read")
    _shot(page, "notifications-cleared.png")


def test_api_index_lists_every_endpoint(executive, login_page, live_server):
    page = login_page(executive.username)
    response = page.request.get(
        f"{live_server.url}/api/v1/", headers={"Accept": "application/json"}
    )
    assert response.status == 200
    body = json.loads(response.text())
    paths = {e["path"] for e in body["endpoints"]}
    for path in ("/api/v1/cycles/", "/api/v1/actuals/", "/api/v1/box-score/"):
        assert path in paths, path
    assert all(e["methods"] for e in body["endpoints"])
    assert body["schema"].endswith("/api/v1/schema/")
    # In the browser, the same index reads as a page listing them.
    page.goto(f"{live_server.url}/api/v1/")
    expect(page.locator("body")).to_contain_text("/api/v1/actuals/")
    _shot(page, "api-index.png")


def test_unknown_cycles_and_bad_months_get_a_friendly_page(
    company, family_a, executive, login_page, live_server
):
    CycleFactory(month=JAN, status="in_progress")
    page = login_page(executive.username)
    for path, text in (
        ("/cycles/1999-01/", "There is no planning cycle 1999-01"),
        ("/cycles/2027-13/", "is not a month"),
        ("/cycles/nonsense/grid/", "is not a month"),
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 404, path
        expect(page.locator("[data-testid=not-found]")).to_contain_text(text)
        expect(page.locator("[data-testid=not-found]")).to_contain_text("2027-01")
    _shot(page, "friendly-not-found.png")
    for query in ("?month=nope", "?month=2027-13", "?month=1999-01"):
        response = page.goto(f"{live_server.url}/review/{query}")
        assert response.status in (200, 400), query
        expect(page.locator("[data-testid=month-problem]")).to_contain_text("is not a month")
    _shot(page, "friendly-bad-month.png")


@pytest.fixture
def grid_plan(stream_a, planner_a):
    cycle = CycleFactory(month=JAN, status="in_progress")
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    ProductFamilyFactory(code="A-2", value_stream=stream_a, name=LONG_NAME)
    cells = []
    for m in (JAN, FEB, MAR):
        cells += [
            CellInput("A", "A-1", m, "demand", Decimal("50")),
            CellInput("A", "A-1", m, "production", Decimal("50")),
        ]
    plan_values_upsert(cycle=cycle, cells=cells, user=None, source="demo")
    return cycle


def _cell(page, row_id: str, field: str):
    return page.locator(
        f'.tabulator-row[data-row-id="{row_id}"] .tabulator-cell[tabulator-field="{field}"]'
    )


def test_grid_subtotals_stay_empty_labels_wrap_and_times_name_the_zone(
    grid_plan, login_page, live_server
):
    page = login_page("planner_a")
    page.goto(f"{live_server.url}/cycles/2027-01/grid/A/")
    page.wait_for_selector("#grid[data-ready='1']")
    page.check("[data-testid=toggle-subtotals]")
    expect(_cell(page, "A-1|demand", "q2027-1")).to_have_text("150")
    # A-2 has no input at all: its quarter and year are empty like its months, not 0.
    expect(_cell(page, "A-2|demand", "q2027-1")).to_have_text("")
    expect(_cell(page, "A-2|production", "y2027")).to_have_text("")
    expect(_cell(page, "|available_hours", "q2027-2")).to_have_text("")
    # Long labels wrap inside the row header (nothing cut off) and the tooltip holds all.
    header = page.locator('.tabulator-row[data-row-id="A-2|production"] .col-label .rh')
    assert LONG_NAME in header.get_attribute("title")
    name = page.locator('.tabulator-row[data-row-id="A-2|production"] .rh-family')
    assert name.inner_text().strip() == LONG_NAME
    cut = name.evaluate("el => el.scrollWidth > el.clientWidth + 1")
    assert not cut, "the family name is cut off"
    # Type a value, then its history names the company's zone (never +00:00).
    _cell(page, "A-1|demand", "m2027-02").click()
    page.keyboard.type("65")
    page.keyboard.press("Enter")
    page.wait_for_function("window.sofpGrid && window.sofpGrid.idle()")
    expect(_cell(page, "A-1|demand", "q2027-1")).to_have_text("165")
    title = _cell(page, "A-1|demand", "m2027-02").get_attribute("title")
    assert "CET" in title or "CEST" in title
    _cell(page, "A-1|demand", "m2027-02").click()
    page.keyboard.press("Shift+F2")
    first = page.locator("#cell-history tr").first
    expect(first).to_contain_text("planner_a")
    when = first.locator("td").first.inner_text()
    assert "+00:00" not in when and ("CET" in when or "CEST" in when), when
    _shot(page, "grid-history-zone.png")
    page.keyboard.press("Escape")
    _shot(page, "grid-empty-subtotals-long-labels.png")
    assert PlanningCycle.objects.filter(month=JAN).exists()


def test_comment_on_an_empty_cell_and_separators_in_messages(grid_plan, login_page, live_server):
    page = login_page("planner_a")
    page.goto(f"{live_server.url}/cycles/2027-01/grid/A/")
    page.wait_for_selector("#grid[data-ready='1']")
    # "Waiting for ERP" on a cell without a value: kept, marked, and the cell stays empty.
    empty = _cell(page, "A-2|demand", "m2027-04")
    empty.click()
    page.keyboard.press("Shift+F2")
    page.fill("#cell-comment", "waiting for ERP")
    page.click("#cell-save-comment")
    expect(page.locator("#cell-dialog")).to_be_hidden()
    expect(empty).to_have_class(re.compile(r"has-comment"))
    page.reload()
    page.wait_for_selector("#grid[data-ready='1']")
    empty = _cell(page, "A-2|demand", "m2027-04")
    expect(empty).to_have_text("")
    assert "waiting for ERP" in (empty.get_attribute("title") or "")
    # A message with a large number carries thousands separators.
    _cell(page, "A-1|demand", "m2027-03").click()
    page.keyboard.type("5000")
    page.keyboard.press("Enter")
    page.wait_for_function("window.sofpGrid && window.sofpGrid.idle()")
    short = _cell(page, "A-1|ending_inventory", "m2027-03")
    expect(short).to_have_class(re.compile(r"flag-bad"))
    assert "−4,950" in short.get_attribute("title") or "-4,950" in short.get_attribute("title")
