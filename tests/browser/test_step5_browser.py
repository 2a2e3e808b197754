"""Step 5 and the everyday details in Chromium: exceptions paged, filtered, acknowledged
and linked to their cells; filters on the review; the zone named; friendly 404 (issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from planning.models import ExceptionAcknowledgement
from tests.dashboard_data import build_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# var/screenshots (ignored) unless SOFP_SCREENSHOTS=docs/screenshots refreshes the docs.
DOCS = Path(__file__).resolve().parents[2] / os.environ.get("SOFP_SCREENSHOTS", "var/screenshots")


@pytest.fixture
def company(db):
    return build_company(streams=3, families=12, month=timezone.localdate().replace(day=1))


def test_exceptions_paged_grouped_acknowledged_and_linked(
    company, executive, login_page, live_server
):
    DOCS.mkdir(parents=True, exist_ok=True)
    page = login_page(executive.username)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/review/#exceptions")
    rng = page.locator("[data-testid=exception-range]")
    expect(rng).to_contain_text("1–50 of")
    total = int(rng.inner_text().split(" of ")[1].split(".")[0].replace(",", ""))
    assert total > 50
    # The next page holds the next ones: nothing is cut off.
    page.locator("[data-testid=exception-pager] a[rel=next]").click()
    expect(rng).to_contain_text("51–")
    # Grouped by kind and stream: a group's link filters the list.
    page.locator("[data-testid=exception-groups] summary").click()
    page.locator("[data-testid=exception-groups] td a", has_text="S01").first.click()
    keys = page.locator("#exceptions tr[data-key]").evaluate_all("rs => rs.map(r => r.dataset.key)")
    assert keys and all(k.split(":")[1] == "S01" for k in keys)
    # Acknowledge the first with a note; it stays with the cycle and shows on the row.
    first = page.locator("#exceptions tr[data-key]").first
    key = first.get_attribute("data-key")
    first.locator("input[name=note]").fill("Known: a promotion; supply covered by stock")
    first.locator("button", has_text="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    row = page.locator(f'#exceptions tr[data-key="{key}"]')
    expect(row.locator("[data-testid=ack-note]")).to_contain_text("promotion")
    assert ExceptionAcknowledgement.objects.get(cycle=company, key=key).note.startswith("Known")
    page.screenshot(path=str(DOCS / "step5-exceptions.png"), full_page=False)
    # Its link lands on its cell in the grid.
    _kind, vs, fam, month = key.split(":")
    row.locator("a", has_text="Open in grid").click()
    page.wait_for_selector("#grid[data-ready='1']")
    assert f"/grid/{vs}/" in page.url
    linked = page.locator(".tabulator-cell.is-linked")
    expect(linked).to_have_count(1)
    assert linked.get_attribute("tabulator-field") == f"m{month}"
    row_id = linked.evaluate("el => el.closest('.tabulator-row').dataset.rowId")
    assert row_id.startswith(f"{fam}|") if fam else row_id.startswith("|")
    assert errors == []


def test_review_filters_apply_and_the_zone_is_named(company, executive, login_page, live_server):
    page = login_page(executive.username)
    page.goto(f"{live_server.url}/review/")
    expect(page.locator("[data-testid=time-zone-note]")).to_contain_text("Europe/Amsterdam")
    with page.expect_navigation():
        page.select_option("select[name=family]", "S01-F002")
    expect(page.locator("[data-testid=filter-note]")).to_contain_text("S01-F002")
    headers = page.locator("table.box-score thead th").all_inner_texts()
    assert [h.strip().upper() for h in headers] == ["MEASURE", "S01"]
    keys = page.locator("#exceptions tr[data-key]").evaluate_all("rs => rs.map(r => r.dataset.key)")
    assert all(k.split(":")[2] in ("S01-F002", "") for k in keys)
    page.screenshot(path=str(DOCS / "step5-review-filtered.png"), full_page=False)
    page.goto(f"{live_server.url}/review/?month=1999-01")
    expect(page.locator("[data-testid=month-problem]")).to_contain_text("is not a month of cycle")
    page.goto(f"{live_server.url}/cycles/1999-01/")
    expect(page.locator("[data-testid=not-found]")).to_contain_text(
        "There is no planning cycle 1999-01"
    )
