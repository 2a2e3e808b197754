"""SOFP.md's "Who changes what", measure by measure: every yes saves, every no is 403
and writes nothing — through the grid, the service and the API."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from planning.models import PlanValue
from planning.selectors.plans import plan_rights
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import PermissionDenied
from tests.factories import (
    PASSWORD,
    CycleFactory,
    MembershipFactory,
    ProductFamilyFactory,
    UserFactory,
)
from valuestreams.models import ValueStream
from valuestreams.selectors import value_streams_visible

pytestmark = pytest.mark.django_db

JAN = dt.date(2027, 1, 1)
NOV = dt.date(2026, 11, 1)  # a month that has started (actual sales), in the history


@pytest.fixture
def plan(stream_a, stream_b):
    cycle = CycleFactory(month=JAN, status="in_progress")
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    ProductFamilyFactory(code="B-1", value_stream=stream_b)
    return cycle


@pytest.fixture
def users(stream_a, stream_b):
    planner = UserFactory(username="pl")
    MembershipFactory(user=planner, value_stream=stream_a, role="planner")
    manager = UserFactory(username="mg")
    MembershipFactory(user=manager, value_stream=stream_b, role="manager")
    sales_all = UserFactory(username="sa", roles=["sales"])
    sales_b = UserFactory(username="sb", roles=["sales"])
    MembershipFactory(user=sales_b, value_stream=stream_b, role="viewer")
    return {
        "planner": planner,
        "manager": manager,
        "sales": sales_all,
        "sales_b": sales_b,
        "finance": UserFactory(username="fi", roles=["finance"]),
        "executive": UserFactory(username="ex", roles=["executive"]),
        "viewer": MembershipFactory(
            user=UserFactory(username="vw"), value_stream=stream_a, role="viewer"
        ).user,
    }


# (stream, family, measure, month) of one cell per input measure.
CELLS = {
    "demand": ("A", "A-1", "demand", JAN),
    "production": ("A", "A-1", "production", JAN),
    "actual_sales": ("A", "A-1", "actual_sales", NOV),
    "opening_inventory": ("A", "A-1", "opening_inventory", JAN),
    "available_hours": ("A", "", "available_hours", JAN),
    "non_productive_hours": ("A", "", "non_productive_hours", JAN),
    "conversion_cost": ("A", "", "conversion_cost", JAN),
    "sustaining_cost": ("", "", "sustaining_cost", JAN),
}
# Who changes each measure in stream A (and the company), per the rights table.
MAY = {
    "planner": {
        "demand",
        "production",
        "actual_sales",
        "opening_inventory",
        "available_hours",
        "non_productive_hours",
    },
    "manager": set(),  # manager of B: reads A, changes nothing there
    "sales": {"demand", "actual_sales"},  # no membership: every stream
    "sales_b": set(),  # sales assigned to B only
    "finance": {"conversion_cost", "sustaining_cost"},
    "executive": set(),
    "viewer": set(),
}


@pytest.mark.parametrize("role", sorted(MAY))
@pytest.mark.parametrize("measure", sorted(CELLS))
def test_each_role_changes_exactly_its_measures(plan, users, role, measure):
    user = users[role]
    vs, fam, m, month = CELLS[measure]
    stream_id = ValueStream.objects.get(code=vs).pk if vs else None
    assert plan_rights(user=user).may_edit(value_stream_id=stream_id, measure=m) == (
        measure in MAY[role]
    )
    cell = CellInput(vs, fam, month, m, Decimal("7"))
    if measure in MAY[role]:
        plan_values_upsert(cycle=plan, cells=[cell], user=user)
        assert PlanValue.objects.get(cycle=plan, measure=m).value == Decimal("7")
    else:
        with pytest.raises(PermissionDenied):
            plan_values_upsert(cycle=plan, cells=[cell], user=user)
        assert not PlanValue.objects.filter(cycle=plan, measure=m).exists()


def _post(client, user, url, cells):
    client.login(username=user.username, password=PASSWORD)
    return client.post(url, json.dumps({"cells": cells}), content_type="application/json")


def test_sales_saves_demand_in_the_grid_and_its_comment_but_not_production(client, plan, users):
    url = "/cycles/2027-01/grid/A/save/"
    ok = _post(
        client,
        users["sales"],
        url,
        [{"family": "A-1", "measure": "demand", "month": "2027-02", "value": "80", "version": 0}],
    )
    assert ok.status_code == 200, ok.content
    res = client.post(
        "/cycles/2027-01/grid/A/comment/",
        json.dumps({"family": "A-1", "measure": "demand", "month": "2027-02", "text": "tender"}),
        content_type="application/json",
    )
    assert res.status_code == 200 and res.json()["comment"] == "tender"
    no = _post(
        client,
        users["sales"],
        url,
        [
            {"family": "A-1", "measure": "demand", "month": "2027-03", "value": "1", "version": 0},
            {"family": "A-1", "measure": "production", "month": "2027-03", "value": "1"},
        ],
    )
    assert no.status_code == 403
    assert no.json()["errors"][0]["message"] == "you may not change production of value stream 'A'"
    assert not PlanValue.objects.filter(cycle=plan, month=dt.date(2027, 3, 1)).exists()


def test_the_grid_tells_each_user_which_measures_are_theirs(client, plan, users):
    client.login(username="sa", password=PASSWORD)
    data = client.get("/cycles/2027-01/grid/B/data/").json()
    assert data["editable"] is True
    assert data["measures"] == ["actual_sales", "demand"]
    client.login(username="fi", password=PASSWORD)
    assert client.get("/cycles/2027-01/grid/B/data/").json()["measures"] == ["conversion_cost"]
    client.login(username="mg", password=PASSWORD)
    other = client.get("/cycles/2027-01/grid/A/data/").json()
    assert other["editable"] is False and other["measures"] == []
    assert "not a planner or manager of value stream A" in other["readonly_reason"]
    assert client.get("/cycles/2027-01/grid/B/data/").json()["measures"] == [
        "actual_sales",
        "available_hours",
        "demand",
        "non_productive_hours",
        "opening_inventory",
        "production",
    ]


def test_a_manager_reads_every_stream_and_edits_only_its_own(client, plan, users, stream_a):
    manager = users["manager"]
    assert {vs.code for vs in value_streams_visible(user=manager)} == {"A", "B"}
    assert {vs.code for vs in value_streams_visible(user=users["planner"])} == {"A"}
    client.login(username="mg", password=PASSWORD)
    assert client.get("/cycles/2027-01/grid/A/").status_code == 200
    res = _post(
        client,
        manager,
        "/cycles/2027-01/grid/A/save/",
        [{"family": "A-1", "measure": "demand", "month": "2027-01", "value": "5", "version": 0}],
    )
    assert res.status_code == 403
    assert not PlanValue.objects.filter(cycle=plan).exists()
    ok = _post(
        client,
        manager,
        "/cycles/2027-01/grid/B/save/",
        [{"family": "B-1", "measure": "demand", "month": "2027-01", "value": "5", "version": 0}],
    )
    assert ok.status_code == 200


def test_finance_changes_conversion_cost_of_every_stream_through_the_api(plan, users, client_for):
    api = client_for(users["finance"])
    url = "/api/v1/cycles/2027-01/plan-values/bulk/"
    rows = [
        {"value_stream": vs, "product_family": "", "month": "2027-01", "measure": m, "value": "9"}
        for vs, m in (("A", "conversion_cost"), ("B", "conversion_cost"))
    ]
    assert api.post(url, rows, format="json").status_code == 200
    hours = [dict(rows[0], measure="available_hours")]
    res = api.post(url, hours, format="json")
    assert res.status_code == 403
    assert not PlanValue.objects.filter(measure="available_hours").exists()
    # A planner may not change conversion cost (a cost: finance's).
    res = client_for(users["planner"]).post(url, [dict(rows[0], value="1")], format="json")
    assert res.status_code == 403
    assert PlanValue.objects.get(value_stream__code="A", measure="conversion_cost").value == 9


# Which steps each role marks done (step 5 is done by approval, executives only).
OWNS = {
    "planner": set(),
    "manager": {2, 3},
    "sales": {1},
    "finance": {4},
    "executive": {1, 2, 3, 4},
    "viewer": set(),
}


@pytest.mark.parametrize("role", sorted(OWNS))
@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_only_a_steps_owners_and_executives_mark_it_done(client, plan, users, role, number):
    step = plan.steps.get(number=number)
    step.status = "in_progress"
    step.save(update_fields=["status"])
    client.login(username=users[role].username, password=PASSWORD)
    res = client.post(f"/cycles/2027-01/steps/{number}/status/", {"status": "done"})
    step.refresh_from_db()
    if number in OWNS[role]:
        assert res.status_code == 302 and step.status == "done"
    else:
        assert res.status_code == 403 and step.status == "in_progress"
