"""The grid's actual rows are the facts of the ``Actual`` store (issue 16): they show
what any path wrote (Month close page, ``import_actuals``, the API) and the grid writes
them through ``actuals_upsert``; quarter/year subtotals of empty rows stay empty and
the cell history names the company's zone (issue 15)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.models import Actual, ActualChange, PlanValue
from planning.services.actuals import ActualInput, actuals_upsert
from tests.planning.views import test_grid as grid_tests
from tests.planning.views.test_grid import DATA, SAVE, cell, client_for, post

pytestmark = pytest.mark.django_db

OCT = dt.date(2026, 10, 1)
HISTORY = "/cycles/2027-01/grid/A/history/"
plan = grid_tests.plan  # the grid tests' small plan (fixture)


def _row(body, rid):
    return next(r for r in body["rows"] if r["id"] == rid)


def test_actual_rows_show_the_facts_whatever_path_wrote_them(client, plan, planner_a, admin_user):
    # Entered on the Month close page / the API / a file: all end in actuals_upsert.
    actuals_upsert(
        cells=[ActualInput("A", "A-1", OCT, "actual_sales", Decimal("42"))],
        user=admin_user,
        source="api",
    )
    actuals_upsert(
        cells=[ActualInput("A", "A-1", OCT, "actual_sales", Decimal("43"), version=1)],
        user=admin_user,
        source="import",
        check_versions=True,
    )
    body = client_for(client, planner_a).get(DATA).json()
    row = _row(body, "A-1|actual_sales")
    assert row["values"]["h2026-10"] == 43
    assert row["versions"]["h2026-10"] == 2  # the fact's version
    assert row["changed"]["h2026-10"].startswith(admin_user.username)
    assert "h2026-10" in row["editable"]


def test_grid_writes_actual_rows_through_actuals_upsert(client, plan, planner_a):
    c = client_for(client, planner_a)
    res = post(
        c,
        SAVE,
        [
            cell("61", version=1),  # a plan cell (demand)
            cell("1,200", measure="actual_sales", month="2026-10", version=0),
        ],
    )
    assert res.status_code == 200, res.json()
    assert res.json()["versions"] == [2, 1]
    fact = Actual.objects.get(measure="actual_sales", month=OCT)
    assert fact.value == Decimal("1200") and fact.version == 1
    assert ActualChange.objects.get(actual=fact).source == "grid"
    # The fact is kept once; the open plan follows it (a cell of its own history).
    copy = PlanValue.objects.get(measure="actual_sales")
    assert (copy.value, copy.version) == (Decimal("1200"), 1)
    assert copy.changes.get().source == "actuals"
    # A stale version of the fact: 409, the conflict names the cell's index in this save.
    res = post(
        c,
        SAVE,
        [cell("62", version=2), cell("5", measure="actual_sales", month="2026-10", version=0)],
    )
    assert res.status_code == 409
    assert [x["index"] for x in res.json()["conflicts"]] == [1]
    assert Actual.objects.get(measure="actual_sales", month=OCT).value == Decimal("1200")
    assert PlanValue.objects.get(measure="demand", month=dt.date(2027, 1, 1)).value == 61


def test_actual_row_refusals_name_the_cell_in_the_request(client, plan, finance_user):
    # Finance enters no actual sales: the save is refused, nothing written.
    res = post(
        client_for(client, finance_user),
        SAVE,
        [cell("5", measure="actual_sales", month="2026-10", version=0)],
    )
    assert res.status_code == 403
    assert not Actual.objects.exists()


def test_cell_history_of_an_actual_row_reads_the_fact_history(client, plan, planner_a):
    c = client_for(client, planner_a)
    post(c, SAVE, [cell("7", measure="actual_sales", month="2026-10", version=0)])
    body = c.get(HISTORY, {"family": "A-1", "measure": "actual_sales", "month": "2026-10"}).json()
    assert body["value"] == "7" and body["version"] == 1
    change = body["changes"][0]
    assert change["source"] == "Grid"
    assert change["at"].endswith("Z")  # as the API writes it, never "+00:00"
    assert change["at_text"].endswith(("CET", "CEST"))  # the company's zone, named


def test_plan_cell_history_uses_z_and_names_the_zone(client, plan, planner_a):
    c = client_for(client, planner_a)
    post(c, SAVE, [cell("61", version=1)])
    change = c.get(HISTORY, {"family": "A-1", "measure": "demand", "month": "2027-01"}).json()[
        "changes"
    ][0]
    assert change["at"].endswith("Z") and "+00:00" not in change["at"]
    assert change["at_text"].endswith(("CET", "CEST"))


def test_subtotals_of_empty_inputs_are_empty(client, plan, planner_a):
    body = client_for(client, planner_a).get(DATA).json()
    # A-1 production is stored for 2027-01 only; available hours nowhere.
    production = _row(body, "A-1|production")
    assert production["values"]["q2027-1"] == 40
    assert production["values"]["q2027-2"] is None  # every month empty: empty, not 0
    hours = _row(body, "|available_hours")
    assert hours["values"]["q2027-1"] is None and hours["values"]["y2027"] is None
    # The save answer's subtotals agree (the grid repaints from them).
    res = post(client_for(client, planner_a), SAVE, [cell(None, measure="production")])
    rows = {r["id"]: r for r in res.json()["computed"]}
    assert rows["A-1|production"]["values"]["q2027-1"] is None


def test_live_endpoint_brings_others_facts_to_the_actual_rows(client, plan, planner_a, admin_user):
    """A fact entered elsewhere (here: the API's path) appears in an open grid's actual
    row by the live poll, with the fact's version (issue 15's live grid, issue 16's facts)."""
    from planning.selectors.live import grid_actual_cursor, grid_cursor

    c = client_for(client, planner_a)
    live = "/cycles/2027-01/grid/A/live/"
    start, start_actual = grid_cursor(cycle=plan), grid_actual_cursor()
    body = c.get(live, {"after": start, "after_actual": start_actual}).json()
    assert body["cells"] == [] and body["actual_cursor"] == start_actual
    actuals_upsert(
        cells=[ActualInput("A", "A-1", OCT, "actual_sales", Decimal("77"))],
        user=admin_user,
        source="api",
    )
    body = c.get(live, {"after": start, "after_actual": start_actual}).json()
    assert [(x["row"], x["field"], x["value"], x["version"]) for x in body["cells"]] == [
        ("A-1|actual_sales", "h2026-10", 77, 1)
    ]
    assert body["actual_cursor"] > start_actual
    again = c.get(live, {"after": body["cursor"], "after_actual": body["actual_cursor"]})
    assert again.json()["cells"] == []
