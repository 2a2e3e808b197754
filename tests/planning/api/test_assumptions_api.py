"""The assumption register in the API: list with filters, create, change with versions,
delete; each "no" (anonymous, another stream, a role without the right, frozen, stale)."""

from __future__ import annotations

import pytest

from planning.models import Assumption
from tests.planning.assumption_data import approve

pytestmark = pytest.mark.django_db
C = "/api/v1/cycles/2027-01/assumptions/"
BODY = {
    "value_stream": "A",
    "product_family": "A-1",
    "measure": "demand",
    "first_month": "2027-01",
    "last_month": "2027-03",
    "text": "Acme tender",
    "impact": "+50 units/month",
}


def test_create_list_change_and_delete(client_for, cycle, family_a, family_b, planner_a, executive):
    api = client_for(planner_a)
    created = api.post(C, BODY, format="json")
    assert created.status_code == 201, created.content
    a = created.json()
    assert (a["owner"], a["version"], a["status"], a["can_change"]) == (
        "planner_a",
        1,
        "open",
        True,
    )
    assert a["grid_url"] == "/cycles/2027-01/grid/A/?family=A-1&month=2027-01&measure=demand"
    b = client_for(executive).post(
        C,
        {
            **{k: v for k, v in BODY.items() if k != "last_month"},
            "value_stream": "B",
            "product_family": "",
            "measure": "available_hours",
            "first_month": "2027-02",
            "text": "Second shift",
        },
        format="json",
    )
    assert b.status_code == 201, b.content
    assert b.json()["last_month"] == "2027-02"  # defaults to the first month

    listed = client_for(executive).get(C).json()
    assert [x["id"] for x in listed] == [a["id"], b.json()["id"]]
    assert [x["id"] for x in client_for(executive).get(C, {"value_stream": "B"}).json()] == [
        b.json()["id"]
    ]
    assert client_for(executive).get(C, {"month": "2027-04"}).json() == []
    assert [
        x["id"]
        for x in client_for(executive).get(C, {"status": "open", "measure": "demand"}).json()
    ] == [a["id"]]
    # The planner of A reads A's only.
    assert [x["id"] for x in api.get(C).json()] == [a["id"]]
    assert api.get(f"{C}{b.json()['id']}/").status_code == 404

    url = f"{C}{a['id']}/"
    changed = api.patch(
        url, {"version": 1, "status": "confirmed", "last_month": "2027-02"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["version"], changed.json()["status"]) == (2, "confirmed")
    stale = api.patch(url, {"version": 1, "status": "retired"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["conflicts"][0]["version"] == 2
    assert api.delete(f"{url}?version=1").status_code == 409
    assert api.delete(f"{url}?version=2").status_code == 204
    assert not Assumption.objects.filter(pk=a["id"]).exists()


def test_each_no(
    client_for, cycle, family_a, family_b, planner_a, sales_user, finance_user, executive
):
    assert client_for().get(C).status_code == 401
    assert client_for().post(C, BODY, format="json").status_code == 401
    other = client_for(planner_a).post(
        C, {**BODY, "value_stream": "B", "product_family": "B-1"}, format="json"
    )
    assert other.status_code == 403
    assert (
        client_for(sales_user).post(C, {**BODY, "measure": "production"}, format="json").status_code
        == 403
    )
    assert (
        client_for(finance_user)
        .post(C, {**BODY, "product_family": "", "measure": "conversion_cost"}, format="json")
        .status_code
        == 403
    )
    bad = client_for(executive).post(
        C, {**BODY, "first_month": "2027-13", "measure": "actual_sales"}, format="json"
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"first_month", "measure"}
    wrong = client_for(executive).post(C, {**BODY, "product_family": "B-1"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["code"] == "family_not_in_stream"
    nobody = client_for(executive).post(C, {**BODY, "owner": "ghost"}, format="json")
    assert nobody.status_code == 400 and nobody.json()["errors"][0]["field"] == "owner"
    a = client_for(sales_user).post(C, BODY, format="json").json()
    assert client_for(finance_user).get(C).json()[0]["can_change"] is False
    assert (
        client_for(finance_user)
        .patch(f"{C}{a['id']}/", {"version": 1, "status": "retired"}, format="json")
        .status_code
        == 403
    )
    assert client_for(finance_user).delete(f"{C}{a['id']}/").status_code == 403
    assert (
        client_for(executive)
        .patch(f"{C}{a['id']}/", {"status": "retired"}, format="json")
        .status_code
        == 400
    )  # the version is required
    assert client_for(executive).get("/api/v1/cycles/2031-01/assumptions/").status_code == 404

    approve(cycle)
    for response in (
        client_for(executive).post(C, BODY, format="json"),
        client_for(executive).patch(
            f"{C}{a['id']}/", {"version": 1, "status": "retired"}, format="json"
        ),
        client_for(executive).delete(f"{C}{a['id']}/"),
    ):
        assert response.status_code == 409
        assert "frozen" in response.json()["detail"]
    assert Assumption.objects.get(pk=a["id"]).status == "open"


def test_the_exception_list_names_the_assumption_that_explains_a_demand_change(
    client_for, family_a, family_b, executive
):
    from planning.services.assumptions import assumption_create
    from tests.planning.assumption_data import JAN, moved_plan

    _, cycle = moved_plan(family_a, family_b)
    api = client_for(executive)

    def demand_changes() -> list[dict]:
        rows = api.get("/api/v1/cycles/2027-01/exceptions/?page_size=1000").json()["results"]
        return [r for r in rows if r["kind"] == "demand_change"]

    before = demand_changes()
    assert before and all(r["explained_by"] == [] for r in before)
    a = assumption_create(
        cycle=cycle,
        user=executive,
        value_stream="A",
        product_family="A-1",
        measure="demand",
        first_month=JAN,
        last_month=JAN,
        text="Acme tender",
    )
    explained = [r for r in demand_changes() if r["explained_by"]]
    assert [(r["product_family"], r["month"]) for r in explained] == [("A-1", "2027-01")]
    assert explained[0]["explained_by"] == [
        {
            "id": a.pk,
            "text": "Acme tender",
            "owner": a.owner.username if a.owner_id else "",
            "status": "open",
            "first_month": "2027-01",
            "last_month": "2027-01",
        }
    ]
