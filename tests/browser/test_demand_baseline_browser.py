"""Step 1 in Chromium with the statistical baseline: the grey row under each family's
demand, "Use baseline" for a selection, and a far demand asking for an assumption."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from planning.models import PlanValueChange
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.browser.test_grid import cell, open_grid, stored, wait_saved
from tests.factories import CycleFactory, ProductFamilyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)


@pytest.fixture
def cycle(stream_a):
    for code in ("A-1", "A-2"):
        ProductFamilyFactory(code=code, value_stream=stream_a)
    cycle = CycleFactory(month=JAN, horizon=6, status="in_progress")
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", code, dt.date(2027, m, 1), "statistical_baseline", Decimal(base + 5 * m))
            for code, base in (("A-1", 100), ("A-2", 40))
            for m in range(1, 7)
        ],
        user=None,
        source="baseline",
    )
    plan_values_upsert(
        cycle=cycle,
        cells=[CellInput("A", "A-1", m, "demand", Decimal("90")) for m in (JAN, FEB, MAR)],
        user=None,
    )
    UserFactory(username="sales_u", roles=["sales"])
    return cycle


def test_sales_uses_the_baseline_and_explains_a_far_demand(cycle, login_page, live_server):
    page = open_grid(login_page("sales_u"), live_server, "/cycles/2027-01/demand/A/")
    expect(cell(page, "A-1|statistical_baseline", "m2027-02")).to_have_text("110")
    row = page.locator('.tabulator-row[data-row-id="A-1|statistical_baseline"]')
    assert "row-baseline" in row.get_attribute("class")
    # Use the baseline for A-2's first three months (selected on its baseline row).
    cell(page, "A-2|statistical_baseline", "m2027-01").click()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.get_by_test_id("use-baseline").click()
    wait_saved(page)
    expect(cell(page, "A-2|demand", "m2027-03")).to_have_text("55")
    assert [stored(cycle, "A-2", "demand", m) for m in (JAN, FEB, MAR)] == [
        Decimal("45"),
        Decimal("50"),
        Decimal("55"),
    ]
    assert PlanValueChange.objects.filter(measure="demand", source="use_baseline").count() == 3
    # The cell's history says where the number came from (the one write path's history).
    cell(page, "A-2|demand", "m2027-02").click()
    page.keyboard.press("Shift+F2")
    first = page.locator("#cell-history tr").first
    expect(first).to_contain_text("Demand copied from the baseline")
    expect(first).to_contain_text("sales_u")
    page.keyboard.press("Escape")
    # Demand far above the baseline is highlighted and asks for an assumption.
    far = cell(page, "A-1|demand", "m2027-04")
    far.click()
    page.keyboard.type("300")
    page.keyboard.press("Enter")
    wait_saved(page)
    expect(far).to_have_class(re.compile(r"flag-warn"))
    assert "add an assumption" in far.get_attribute("title")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "demand_baseline.png"), full_page=False)
    # A comment (the assumption) answers it.
    far.click()
    page.keyboard.press("Shift+F2")
    page.fill("#cell-comment", "Launch promotion in April (+180 units)")
    page.click("#cell-save-comment")
    expect(far).not_to_have_class(re.compile(r"flag-warn"))
