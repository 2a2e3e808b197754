"""Step 1 in Chromium: sales enters demand in the demand view (a block from Excel pastes
in one go beside the last approved plan); the full grid skips computed cells of a
pasted block and says how many."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from planning.services.plan_values import CellInput, plan_values_upsert
from tests.browser.test_grid import cell, open_grid, stored, wait_saved
from tests.factories import CycleFactory, ProductFamilyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEC, JAN = dt.date(2026, 12, 1), dt.date(2027, 1, 1)
FEB, MAR, APR = (dt.date(2027, m, 1) for m in (2, 3, 4))
PASTE = """t => { const d = new DataTransfer(); d.setData('text/plain', t);
  document.activeElement.dispatchEvent(new ClipboardEvent('paste',
  {clipboardData: d, bubbles: true, cancelable: true})); }"""


@pytest.fixture
def cycles(stream_a, planner_a):
    """An approved 2026-12 plan (the reference) and the open 2027-01 cycle."""
    for code in ("A-1", "A-2", "A-3"):
        ProductFamilyFactory(code=code, value_stream=stream_a)
    approved = CycleFactory(month=DEC, status="in_progress")
    plan_values_upsert(
        cycle=approved,
        cells=[
            CellInput("A", code, m, "demand", Decimal(v))
            for code, v in (("A-1", "40"), ("A-2", "41"), ("A-3", "42"))
            for m in (DEC, JAN, FEB, MAR)
        ],
        user=None,
    )
    approved.status = "approved"
    approved.approved_at = timezone.now()
    approved.save(update_fields=["status", "approved_at"])
    cycle = CycleFactory(month=JAN, status="in_progress")
    UserFactory(username="sales_u", roles=["sales"])
    return cycle


def test_sales_pastes_a_families_by_months_block_in_the_demand_view(
    cycles, login_page, live_server
):
    page = open_grid(login_page("sales_u"), live_server, "/cycles/2027-01/demand/A/")
    # Reference row: the last approved plan's demand for the same months.
    ref = cell(page, "A-1|demand_reference", "m2027-02")
    expect(ref).to_have_text("40")
    assert "Last approved (2026-12)" in page.locator(".tabulator").inner_text()
    # 3 families × 3 months, as copied from Excel: demand rows only, in one save.
    cell(page, "A-1|demand", "m2027-01").click()
    page.evaluate(PASTE, "100\t110\t120\n200\t210\t220\n300\t310\t320\n")
    wait_saved(page)
    assert "Saved 9 cells" in page.locator("#grid-status").inner_text()
    assert [stored(cycles, "A-2", "demand", m) for m in (JAN, FEB, MAR)] == [200, 210, 220]
    assert stored(cycles, "A-3", "demand", MAR) == Decimal("320")
    # Typing at machine speed works here as in the full grid.
    cell(page, "A-3|demand", "m2027-04").click()
    page.keyboard.type("7", delay=0)
    page.keyboard.press("Tab")
    page.keyboard.type("8", delay=0)
    page.keyboard.press("Enter")
    wait_saved(page)
    assert stored(cycles, "A-3", "demand", APR) == Decimal("7")
    assert stored(cycles, "A-3", "demand", dt.date(2027, 5, 1)) == Decimal("8")
    # The reference row takes no input: typing there says why.
    ref.click()
    page.keyboard.type("5")
    expect(page.locator("#grid-status")).to_contain_text("shown for reference")


def test_a_full_grid_paste_skips_computed_cells_and_says_how_many(cycles, login_page, live_server):
    page = open_grid(login_page("planner_a"), live_server, "/cycles/2027-01/grid/A/")
    cell(page, "A-1|demand", "m2027-01").click()
    # Five rows as the grid lays them out: demand, production, actual sales (empty in a
    # future month), ending inventory (ƒ), days of supply (ƒ).
    page.evaluate(PASTE, "11\t12\n21\t22\n\t\n999\t999\n999\t999\n")
    wait_saved(page)
    status = page.locator("#grid-status").inner_text()
    assert "skipped 4 computed cells" in status
    assert stored(cycles, "A-1", "demand", FEB) == Decimal("12")
    assert stored(cycles, "A-1", "production", JAN) == Decimal("21")
