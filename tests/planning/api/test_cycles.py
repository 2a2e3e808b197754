"""Cycles over the API: read them with their steps and decisions, approve them."""

from __future__ import annotations

from planning.models import AuditEvent, PlanningCycle

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
