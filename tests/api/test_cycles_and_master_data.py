"""Cycles (read, approve) and master data (read what you may see, admins write)."""

from __future__ import annotations

import pytest

from planning.models import AuditEvent, PlanningCycle
from valuestreams.models import ProductFamily, ValueStream

C = "/api/v1/cycles/2027-01"


def test_cycle_detail_has_steps_and_decisions(client_for, plan, planner_a):
    from tests.factories import DecisionFactory

    DecisionFactory(cycle=plan, text="Add a shift", owner=planner_a)
    body = client_for(planner_a).get(f"{C}/").json()
    assert body["month"] == "2027-01" and body["is_frozen"] is False
    assert [s["number"] for s in body["steps"]] == [1, 2, 3, 4, 5]
    assert body["decisions"][0]["text"] == "Add a shift"
    assert body["decisions"][0]["owner"] == "planner_a"


def test_approve_needs_a_reason_while_steps_are_open(client_for, plan, executive):
    client = client_for(executive)
    response = client.post(f"{C}/approve/", {}, format="json")
    assert response.status_code == 409 and "not done" in response.json()["detail"]
    response = client.post(f"{C}/approve/", {"override_reason": "Board asked"}, format="json")
    assert response.status_code == 200
    assert response.json()["is_frozen"] is True and response.json()["approved_by"] == "exec"
    assert PlanningCycle.objects.get(pk=plan.pk).is_frozen
    assert AuditEvent.objects.filter(action="approve").exists()
    again = client.post(f"{C}/approve/", {"override_reason": "x"}, format="json")
    assert again.status_code == 409


def test_approve_refuses_a_planner_and_leaves_the_cycle_open(client_for, plan, planner_a):
    response = client_for(planner_a).post(f"{C}/approve/", {"override_reason": "x"}, format="json")
    assert response.status_code == 403
    assert not PlanningCycle.objects.get(pk=plan.pk).is_frozen


def test_approve_with_a_wrong_body_is_400(client_for, plan, executive):
    response = client_for(executive).post(
        f"{C}/approve/", {"override_reason": ["x"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "override_reason"


def test_planner_sees_only_own_streams_and_families(client_for, plan, planner_a):
    client = client_for(planner_a)
    assert [v["code"] for v in client.get("/api/v1/value-streams/").json()["results"]] == ["A"]
    families = client.get("/api/v1/product-families/").json()["results"]
    assert [f["code"] for f in families] == ["A-1"]
    assert families[0]["unit_price"] == "100.0000"


def test_admin_creates_and_updates_master_data(client_for, admin_user, stream_a):
    client = client_for(admin_user)
    response = client.post(
        "/api/v1/product-families/",
        {
            "code": "A-2",
            "name": "Second",
            "value_stream": "A",
            "unit_price": "10",
            "unit_material_cost": 4,
            "hours_per_unit": "0.25",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert ProductFamily.objects.get(code="A-2").value_stream == stream_a
    response = client.patch("/api/v1/value-streams/A/", {"headcount": 12}, format="json")
    assert response.status_code == 200 and ValueStream.objects.get(code="A").headcount == 12


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dos_min": "40", "dos_max": "20"}, "dos_max"),
        ({"unit_price": "-1"}, None),
        ({"unit_price": "abc"}, "unit_price"),
        ({"value_stream": "NOPE"}, "value_stream"),
        ({"code": "bad code!"}, "code"),
    ],
)
def test_bad_master_data_is_400_with_the_field(client_for, admin_user, family_a, body, field):
    response = client_for(admin_user).patch("/api/v1/product-families/A-1/", body, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert response.json()["errors"][0]["field"] == field
    assert ProductFamily.objects.get(code="A-1").unit_price == 100


def test_duplicate_code_is_400(client_for, admin_user, stream_a):
    response = client_for(admin_user).post(
        "/api/v1/value-streams/", {"code": "A", "name": "again"}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "code"


def test_delete_is_not_offered(client_for, admin_user, stream_a):
    assert client_for(admin_user).delete("/api/v1/value-streams/A/").status_code == 405
