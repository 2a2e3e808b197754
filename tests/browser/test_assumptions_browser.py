"""Assumptions in Chromium: created from a cell and from a block with the keyboard at
0 ms between keys, the marker on covered cells, the side panel, the baseline highlight
that asks for one, and a status change on the register page.

Every test listens to the page: a console error or an uncaught exception fails it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from planning.models import Assumption
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.browser.test_grid import _shots, cell, open_grid, plan  # noqa: F401 (fixture)
from tests.factories import CycleFactory, ProductFamilyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)


def _marked(page, row_id: str, field: str) -> None:
    expect(cell(page, row_id, field)).to_have_class(re.compile(r"has-assumption"))


def _unmarked(page, row_id: str, field: str) -> None:
    expect(cell(page, row_id, field)).not_to_have_class(re.compile(r"has-assumption"))


def test_create_from_a_cell_and_a_block_at_machine_speed(plan, watched, live_server):  # noqa: F811
    page = open_grid(watched("planner_a"), live_server, "/cycles/2027-01/grid/A/")
    expect(page.get_by_test_id("add-assumption")).to_be_enabled()

    # One cell: Alt+A, type at 0 ms, Ctrl+Enter saves.
    cell(page, "A-1|demand", "m2027-02").click()
    page.keyboard.press("Alt+a")
    expect(page.locator("#assumption-dialog")).to_be_visible()
    expect(page.locator("#assumption-scope")).to_contain_text("2027-02")
    page.keyboard.type("Acme tender won in February", delay=0)
    page.keyboard.press("Tab")
    page.keyboard.type("+50 units", delay=0)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#assumption-dialog")).to_be_hidden()
    _marked(page, "A-1|demand", "m2027-02")
    _unmarked(page, "A-1|demand", "m2027-03")
    _unmarked(page, "A-1|production", "m2027-02")
    a = Assumption.objects.get()
    assert (a.product_family.code, a.measure, a.first_month, a.last_month) == (
        "A-1",
        "demand",
        FEB,
        FEB,
    )
    assert (a.text, a.impact, a.owner.username) == (
        "Acme tender won in February",
        "+50 units",
        "planner_a",
    )
    # The side panel lists it for the active cell.
    panel = page.get_by_test_id("assumption-panel-list")
    expect(panel).to_contain_text("Acme tender won in February")

    # A block: available hours March..April of the stream, keyboard only.
    cell(page, "|available_hours", "m2027-03").click()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Alt+a")
    expect(page.locator("#assumption-scope")).to_contain_text("2027-03 – 2027-04")
    page.keyboard.type("Second shift from March", delay=0)
    page.click("#assumption-save")
    expect(page.locator("#assumption-dialog")).to_be_hidden()
    _marked(page, "|available_hours", "m2027-03")
    _marked(page, "|available_hours", "m2027-04")
    _unmarked(page, "|available_hours", "m2027-05")
    shift = Assumption.objects.get(measure="available_hours")
    assert (shift.product_family, shift.first_month, shift.last_month) == (
        None,
        MAR,
        dt.date(2027, 4, 1),
    )

    # A block over two measures is refused with the reason, nothing opens.
    cell(page, "A-1|demand", "m2027-05").click()
    page.keyboard.press("Shift+ArrowDown")  # production row
    page.keyboard.press("Alt+a")
    expect(page.locator("#assumption-dialog")).to_be_hidden()  # two measures: refused
    expect(page.locator("#assumption-panel-ask")).to_contain_text("one measure")

    # Typing into the grid still goes to the grid afterwards.
    cell(page, "A-1|demand", "m2027-06").click()
    page.keyboard.type("75", delay=0)
    page.keyboard.press("Enter")
    page.wait_for_function("window.sofpGrid.idle()")
    expect(cell(page, "A-1|demand", "m2027-06")).to_have_text("75")
    cell(page, "A-1|demand", "m2027-02").click()
    page.screenshot(path=str(_shots() / "grid-assumptions.png"), full_page=False)


def test_reading_the_register_and_changing_a_status(plan, watched, live_server, stream_b):  # noqa: F811
    page = open_grid(watched("planner_a"), live_server, "/cycles/2027-01/grid/A/")
    cell(page, "A-1|demand", "m2027-01").click()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.get_by_test_id("add-assumption").click()
    page.fill("#assumption-text", "Price rise in March cuts demand")
    page.click("#assumption-save")
    _marked(page, "A-1|demand", "m2027-03")
    a = Assumption.objects.get()
    assert (a.first_month, a.last_month) == (JAN, MAR)

    page.goto(f"{live_server.url}/cycles/2027-01/assumptions/")
    row = page.locator(f"#assumption-{a.pk}")
    expect(row).to_contain_text("Price rise in March")
    row.get_by_test_id("set-confirmed").click()
    expect(page.locator(f"#assumption-{a.pk} [data-testid=assumption-status]")).to_have_text(
        "Confirmed"
    )
    page.screenshot(path=str(_shots() / "assumptions-register.png"), full_page=True)
    row = page.locator(f"#assumption-{a.pk}")
    row.get_by_test_id("set-retired").click()
    expect(page.locator(f"#assumption-{a.pk} [data-testid=assumption-status]")).to_have_text(
        "Retired"
    )
    a.refresh_from_db()
    assert (a.status, a.version) == ("retired", 3)
    # A retired assumption no longer marks the grid; the panel still lists it.
    open_grid(page, live_server, "/cycles/2027-01/grid/A/")
    _unmarked(page, "A-1|demand", "m2027-02")
    cell(page, "A-1|demand", "m2027-02").click()
    expect(page.get_by_test_id("assumption-panel-list")).to_contain_text("retired")


@pytest.fixture
def baseline_cycle(stream_a):
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    cycle = CycleFactory(month=JAN, horizon=6, status="in_progress")
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", dt.date(2027, m, 1), "statistical_baseline", Decimal(100))
            for m in range(1, 7)
        ],
        user=None,
        source="baseline",
    )
    plan_values_upsert(
        cycle=cycle, cells=[CellInput("A", "A-1", MAR, "demand", Decimal("300"))], user=None
    )
    UserFactory(username="sales_u", roles=["sales"])
    return cycle


def test_a_demand_far_from_the_baseline_offers_an_assumption(baseline_cycle, watched, live_server):
    page = open_grid(watched("sales_u"), live_server, "/cycles/2027-01/demand/A/")
    far = cell(page, "A-1|demand", "m2027-03")
    expect(far).to_have_class(re.compile(r"flag-warn"))
    far.click()
    ask = page.get_by_test_id("baseline-ask-assumption")
    expect(ask).to_be_visible()
    ask.click()
    page.keyboard.type("Spring promotion: +200 units in March", delay=0)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#assumption-dialog")).to_be_hidden()
    expect(far).not_to_have_class(re.compile(r"flag-warn"))
    _marked(page, "A-1|demand", "m2027-03")
    assert Assumption.objects.get().text == "Spring promotion: +200 units in March"
    # Sales adds demand assumptions only.
    cell(page, "A-1|statistical_baseline", "m2027-03").click()
    page.keyboard.press("Alt+a")
    expect(page.locator("#assumption-dialog")).to_be_hidden()


def test_the_review_explains_a_demand_change_with_its_assumption(
    family_a, family_b, executive, watched, live_server
):
    from planning.services.assumptions import assumption_create
    from tests.planning.assumption_data import moved_plan

    _, cycle = moved_plan(family_a, family_b)
    assumption_create(
        cycle=cycle,
        user=executive,
        value_stream="A",
        product_family="A-1",
        measure="demand",
        first_month=JAN,
        last_month=JAN,
        text="Acme tender won: 50 extra units in January",
        impact="+50 units",
    )
    page = watched("exec")
    page.goto(f"{live_server.url}/cycles/2027-01/review/#exceptions")
    explained = page.get_by_test_id("explained")
    expect(explained).to_have_count(1)
    expect(explained).to_contain_text("Acme tender won")
    behind = page.get_by_test_id("assumptions-behind")
    expect(behind).to_contain_text("Acme tender won")
    behind.scroll_into_view_if_needed()
    page.locator("#exceptions").screenshot(path=str(_shots() / "review-explained-exception.png"))
    behind.screenshot(path=str(_shots() / "review-assumptions-behind-changes.png"))
