"""Issue 18 in Chromium: finance changes a plan price on the Prices page; a scenario that
never changed it shows the new price, one with its own price keeps it."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from planning.services.cycle_master import cycle_master_update
from planning.services.scenarios import scenario_create
from tests.factories import CycleFactory, ProductFamilyFactory, UserFactory, ValueStreamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(db):
    pumps = ValueStreamFactory(code="PUMPS")
    ProductFamilyFactory(code="PMP-A", value_stream=pumps)
    cycle = CycleFactory(month=dt.date(2027, 1, 1), horizon=6, status="in_progress")
    UserFactory(username="fin", roles=["finance"])
    boss = UserFactory(username="boss", roles=["executive"])
    scenario_create(cycle=cycle, name="same", user=boss)
    own = scenario_create(cycle=cycle, name="own", user=boss)
    cycle_master_update(
        cycle=cycle.in_scenario(own),
        user=None,
        changes=[{"product_family": "PMP-A", "unit_price": "150"}],
    )
    return cycle


def test_scenario_prices_follow_a_plan_price_they_never_changed(world, login_page, live_server):
    fin = login_page("fin")
    fin.goto(f"{live_server.url}/cycles/2027-01/prices/")
    fin.get_by_label("PMP-A unit price").fill("125")
    fin.get_by_role("button", name="Save prices and costs").click()
    expect(fin.get_by_text("1 price(s) and cost(s) saved.")).to_be_visible()
    fin.goto(f"{live_server.url}/cycles/2027-01/prices/?scenario=same")
    expect(fin.get_by_label("PMP-A unit price")).to_have_value("125")
    fin.screenshot(path="/tmp/gaps_scenario_prices.png", full_page=True)
    fin.goto(f"{live_server.url}/cycles/2027-01/prices/?scenario=own")
    expect(fin.get_by_label("PMP-A unit price")).to_have_value("150")
