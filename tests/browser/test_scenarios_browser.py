"""Scenario journeys in Chromium against the real server: a value stream manager creates
a scenario and types into it at machine speed (the plan never moves), an executive
compares it with the plan on the review and adopts it.

Screenshots go to var/screenshots, or docs/screenshots with SOFP_SCREENSHOTS.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from planning.calendar import month_add
from planning.models import PlanValue, PlanValueChange, Scenario, ScenarioCell
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.browser.test_grid import _shots, cell, open_grid, wait_saved
from tests.browser.test_grid_typing import burst
from tests.factories import CycleFactory, MembershipFactory, ProductFamilyFactory, UserFactory
from valuestreams.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JAN = dt.date(2027, 1, 1)
MONTHS = [month_add(JAN, i) for i in range(18)]


def field(i: int) -> str:
    return f"m{MONTHS[i]:%Y-%m}"


@pytest.fixture
def scenario_plan(stream_a, stream_b, executive):
    manager = UserFactory(username="manager_a")
    MembershipFactory(user=manager, value_stream=stream_a, role=Membership.Role.MANAGER)
    cycle = CycleFactory(month=JAN, status="in_progress")
    cells = []
    for code, stream in (("A-1", stream_a), ("A-2", stream_a), ("B-1", stream_b)):
        ProductFamilyFactory(code=code, value_stream=stream, hours_per_unit=Decimal("1"))
        cells.append(CellInput(stream.code, code, JAN, "opening_inventory", Decimal("100")))
        for m in MONTHS:
            cells.append(CellInput(stream.code, code, m, "demand", Decimal("50")))
            cells.append(CellInput(stream.code, code, m, "production", Decimal("50")))
    for m in MONTHS:
        cells.append(CellInput("A", "", m, "available_hours", Decimal("120")))
        cells.append(CellInput("B", "", m, "available_hours", Decimal("120")))
    plan_values_upsert(cycle=cycle, cells=cells, user=None, source="demo")
    return cycle


def _values(cycle, family, measure, *, scenario=None):
    cells = (
        PlanValue.objects.filter(cycle=cycle)
        if scenario is None
        else ScenarioCell.objects.filter(scenario=scenario)
    )
    rows = dict(
        cells.filter(product_family__code=family, measure=measure).values_list("month", "value")
    )
    return [rows.get(m) for m in MONTHS]


def test_create_type_compare_adopt(scenario_plan, watched, live_server):
    plan_demand = _values(scenario_plan, "A-1", "demand")

    # A value stream manager creates "second-shift" and lands in his grid, in it.
    page = watched("manager_a")
    page.goto(f"{live_server.url}/cycles/2027-01/scenarios/")
    page.get_by_test_id("scenario-name").fill("second-shift")
    page.get_by_test_id("scenario-description").fill("A second shift in A from March")
    page.get_by_test_id("scenario-create-submit").click()
    page.wait_for_selector("#grid[data-ready='1']")
    assert page.url.endswith("/cycles/2027-01/grid/A/?scenario=second-shift")
    expect(page.get_by_test_id("scenario-badge")).to_contain_text("second-shift")
    scenario = Scenario.objects.get(name="second-shift")

    # 18 demand values and a production change typed at 0 ms between keys.
    cell(page, "A-1|demand", field(0)).click()
    burst(page, [(str(200 + i), "Tab") for i in range(17)] + [("217", "Enter")])
    cell(page, "A-1|production", field(2)).click()
    burst(page, [("90", "Tab"), ("91", "Enter")])
    wait_saved(page)
    assert _values(scenario_plan, "A-1", "demand", scenario=scenario) == [
        Decimal(200 + i) for i in range(18)
    ]
    assert _values(scenario_plan, "A-1", "production", scenario=scenario)[2:4] == [90, 91]
    assert _values(scenario_plan, "A-1", "demand") == plan_demand  # the plan never moved
    assert cell(page, "A-1|demand", field(17)).inner_text() == "217"
    page.screenshot(path=str(_shots() / "scenario-grid.png"), full_page=False)

    # The plan's grid still shows the plan.
    open_grid(page, live_server, "/cycles/2027-01/grid/A/")
    assert cell(page, "A-1|demand", field(0)).inner_text() == "50"
    expect(page.get_by_test_id("scenario-badge")).to_have_count(0)

    # An executive compares on the review: ticks the scenario, sees deltas and exceptions.
    boss = watched("exec")
    boss.goto(f"{live_server.url}/review/")
    boss.get_by_test_id("compare-second-shift").check()
    boss.get_by_test_id("compare-submit").click()
    table = boss.get_by_test_id("scenario-table")
    expect(table).to_be_visible()
    expect(table).to_contain_text("Demand")
    expect(boss.get_by_test_id("scenario-exceptions-second-shift")).to_contain_text("Adds")
    boss.wait_for_selector("#cmp-value_stream_profit .main-svg")
    boss.locator("#scenarios").screenshot(path=str(_shots() / "scenario-compare-review.png"))

    # … and adopts it: the plan's inputs become the scenario's, once.
    boss.goto(f"{live_server.url}/cycles/2027-01/scenarios/")
    boss.get_by_test_id("adopt-second-shift").click()
    expect(boss.locator(".messages, .msg").first).to_contain_text("adopted")
    assert _values(scenario_plan, "A-1", "demand") == [Decimal(200 + i) for i in range(18)]
    adopted = PlanValueChange.objects.filter(cycle=scenario_plan, source="adopt")
    assert adopted.count() == 20
    assert set(adopted.values_list("note", flat=True)) == {"adopted from scenario second-shift"}
    boss.get_by_test_id("adopt-second-shift").click()
    expect(boss.locator(".messages, .msg").first).to_contain_text("nothing changed")
    assert PlanValueChange.objects.filter(cycle=scenario_plan, source="adopt").count() == 20
    boss.screenshot(path=str(_shots() / "scenarios-page.png"), full_page=True)
