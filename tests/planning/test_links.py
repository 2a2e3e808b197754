"""One builder for a grid cell's address; exceptions and the plan history use it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.links import grid_cell_url
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import PASSWORD, CycleFactory


def test_cell_addresses():
    assert (
        grid_cell_url("2027-01", "PUMPS", family="PMP-CEN", month="2027-03", measure="demand")
        == "/cycles/2027-01/grid/PUMPS/?family=PMP-CEN&month=2027-03&measure=demand"
    )
    assert (
        grid_cell_url("2027-01", "A", month="2027-02", measure="available_hours")
        == "/cycles/2027-01/grid/A/?month=2027-02&measure=available_hours"
    )
    assert (
        grid_cell_url("2027-01", "", month="2027-02", measure="sustaining_cost")
        == "/cycles/2027-01/company/?month=2027-02&measure=sustaining_cost"
    )
    assert grid_cell_url("2027-01", "A B", family="x&y", measure="demand") == (
        "/cycles/2027-01/grid/A%20B/?family=x%26y&measure=demand"
    )


@pytest.mark.django_db
def test_the_cycle_page_lists_plan_changes_with_links_to_their_cells(
    client, planner_a, family_a, stream_b
):
    cycle = CycleFactory(month=dt.date(2027, 1, 1))
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", dt.date(2027, 3, 1), "demand", Decimal("70")),
            CellInput("", "", dt.date(2027, 3, 1), "sustaining_cost", Decimal("9")),
        ],
        user=None,
    )
    client.login(username=planner_a.username, password=PASSWORD)
    page = client.get("/cycles/2027-01/").content.decode()
    assert 'href="/cycles/2027-01/grid/A/?family=A-1&amp;month=2027-03&amp;measure=demand"' in page
    # The planner does not read the company rows: that change is not listed.
    assert "measure=sustaining_cost" not in page
