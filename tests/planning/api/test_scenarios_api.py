"""Scenarios through the API: ``?scenario=NAME`` on the plan's endpoints, and create,
list, delete, adopt, prices and compare — each "no" of the rights table."""

from __future__ import annotations

import csv
import io

import pytest

from planning.models import CycleFamily, Scenario, StepStatus
from planning.services.approval import cycle_approve
from planning.services.scenarios import scenario_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

C = "/api/v1/cycles/2027-01"
S = f"{C}/scenarios"
ROW_A = {"value_stream": "A", "product_family": "A-1", "month": "2027-01", "measure": "demand"}


@pytest.fixture
def scenario(plan, executive):
    return scenario_create(cycle=plan, name="second-shift", description="d", user=executive)


def _export_rows(client, query=""):
    response = client.get(f"{C}/export/?format=csv{query}")
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _demand_a(rows):
    return next(
        r["value"]
        for r in rows
        if r["product_family"] == "A-1" and r["month"] == "2027-01" and r["measure"] == "demand"
    )


def test_create_list_get_delete(client_for, plan, executive):
    api = client_for(executive)
    created = api.post(S + "/", {"name": "build-ahead", "description": "March"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "build-ahead" and created.json()["status"] == "open"
    assert [s["name"] for s in api.get(S + "/").json()] == ["build-ahead"]
    assert api.get(f"{S}/build-ahead/").json()["description"] == "March"
    assert api.delete(f"{S}/build-ahead/").status_code == 204
    assert api.get(f"{S}/build-ahead/").status_code == 404


def test_bad_name_and_duplicates_are_clear(client_for, plan, executive):
    api = client_for(executive)
    bad = api.post(S + "/", {"name": "Second Shift"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "bad_scenario_name"
    assert api.post(S + "/", {"name": "x"}, format="json").status_code == 201
    again = api.post(S + "/", {"name": "x"}, format="json")
    assert again.status_code == 409 and "already has a scenario" in again.json()["detail"]


def test_unknown_and_bad_scenario_on_plan_endpoints(client_for, plan, executive):
    api = client_for(executive)
    unknown = api.get(f"{C}/plan-values/?scenario=nope")
    assert unknown.status_code == 404 and "no scenario 'nope'" in unknown.json()["detail"]
    assert api.get(f"{C}/box-score/?scenario=Bad_Name").status_code == 400
    assert api.get(f"{C}/exceptions/?scenario=").status_code == 400  # present but empty


def test_scenario_param_serves_the_scenario_and_never_the_plan(
    client_for, scenario, planner_a, executive
):
    api = client_for(planner_a)
    plan_before = _export_rows(client_for(executive))
    write = api.post(
        f"{C}/plan-values/bulk/?scenario=second-shift",
        [{**ROW_A, "value": "321", "version": 1}],
        format="json",
    )
    assert write.status_code == 200, write.content
    assert write.json()["changed"] == 1
    reader = client_for(executive)
    assert float(_demand_a(_export_rows(reader, "&scenario=second-shift"))) == 321
    assert _export_rows(reader) == plan_before
    values = reader.get(f"{C}/plan-values/?scenario=second-shift&measure=demand&page_size=500")
    assert "321.000000" in {r["value"] for r in values.json()["results"]}
    plan_values = reader.get(f"{C}/plan-values/?measure=demand&page_size=500")
    assert "321.000000" not in {r["value"] for r in plan_values.json()["results"]}
    for endpoint in ("projections/families/", "box-score/", "exceptions/", "projections/streams/"):
        assert reader.get(f"{C}/{endpoint}?scenario=second-shift").status_code == 200
    fam = reader.get(f"{C}/projections/families/?scenario=second-shift&month_to=2027-01").json()
    assert any(float(r["demand"]) == 321 for r in fam["results"]), fam["results"][:1]


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("planner_a", 403), ("sales_user", 403), ("finance_user", 403)],
)
def test_who_may_not_create(request, client_for, plan, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    response = client_for(user).post(S + "/", {"name": "x"}, format="json")
    assert response.status_code == status
    assert not Scenario.objects.exists()


def test_manager_creates_and_adopts_own_stream(client_for, plan, manager_a):
    api = client_for(manager_a)
    assert api.post(S + "/", {"name": "mine"}, format="json").status_code == 201
    api.post(
        f"{C}/plan-values/bulk/?scenario=mine",
        [
            {**ROW_A, "value": "7"},
        ],
        format="json",
    )
    adopted = api.post(f"{S}/mine/adopt/", format="json")
    assert adopted.status_code == 200 and adopted.json() == {"cells": 1, "prices": 0}
    assert api.post(f"{S}/mine/adopt/", format="json").json() == {"cells": 0, "prices": 0}


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("planner_a", 403), ("sales_user", 403), ("finance_user", 403)],
)
def test_who_may_not_adopt(request, client_for, scenario, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    assert client_for(user).post(f"{S}/second-shift/adopt/", format="json").status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("planner_a", 403), ("sales_user", 403), ("finance_user", 403)],
)
def test_who_may_not_delete(request, client_for, scenario, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    assert client_for(user).delete(f"{S}/second-shift/").status_code == status
    assert Scenario.objects.filter(name="second-shift").exists()


def test_planner_may_not_write_another_stream_in_a_scenario(client_for, scenario, planner_a):
    row_b = {**ROW_A, "value_stream": "B", "product_family": "B-1", "value": "1"}
    response = client_for(planner_a).post(
        f"{C}/plan-values/bulk/?scenario=second-shift", [row_b], format="json"
    )
    assert response.status_code == 403


def test_prices_in_a_scenario_are_finance_only(client_for, scenario, finance_user, planner_a):
    body = [{"product_family": "A-1", "unit_price": "120"}]
    assert client_for(planner_a).post(
        f"{S}/second-shift/prices/", body, format="json"
    ).status_code == (403)
    done = client_for(finance_user).post(f"{S}/second-shift/prices/", body, format="json")
    assert done.status_code == 200 and done.json()["prices"] == 1


def test_frozen_cycle_refuses_every_scenario_write(client_for, scenario, plan, executive):
    plan.steps.update(status=StepStatus.DONE)
    cycle_approve(cycle=plan, user=executive)
    api = client_for(executive)
    assert api.get(f"{S}/second-shift/").json()["status"] == "frozen"
    assert api.post(S + "/", {"name": "late"}, format="json").status_code == 409
    assert api.post(f"{S}/second-shift/adopt/", format="json").status_code == 409
    assert api.delete(f"{S}/second-shift/").status_code == 409
    admin = UserFactory(username="boss", is_superuser=True, is_staff=True)
    write = client_for(admin).post(
        f"{C}/plan-values/bulk/?scenario=second-shift", [{**ROW_A, "value": "1"}], format="json"
    )
    assert write.status_code == 409


def test_compare_endpoint(client_for, scenario, executive, planner_a):
    client_for(executive)
    response = client_for(executive).get(f"{S}/compare/?names=second-shift")
    assert response.status_code == 200
    body = response.json()
    assert body["scenarios"] == ["second-shift"]
    revenue = next(r for r in body["box_score"] if r["measure"] == "revenue")
    assert revenue["second-shift Δ"] == 0
    assert client_for(None).get(f"{S}/compare/?names=second-shift").status_code == 401
    assert client_for(executive).get(f"{S}/compare/?names=nope").status_code == 404


def test_a_price_row_naming_master_data_is_refused_not_ignored(client_for, scenario, finance_user):
    """Issue 18's errors: hours and DOS bands are master data, not a scenario's prices."""
    body = [{"product_family": "A-1", "unit_price": "120", "hours_per_unit": "1"}]
    answer = client_for(finance_user).post(f"{S}/second-shift/prices/", body, format="json")
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(0, "hours_per_unit")]
    copy = CycleFamily.all_objects.get(scenario=scenario, product_family__code="A-1")
    assert copy.unit_price != 120
