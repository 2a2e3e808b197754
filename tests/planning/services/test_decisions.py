"""Decisions: who records and updates them, and every missing field listed."""

from __future__ import annotations

import pytest

from planning.models import AuditEvent, Decision
from planning.services.decisions import decision_create, decision_update
from sofp.errors import PermissionDenied, ValidationFailed
from tests.factories import decision_recorded

pytestmark = pytest.mark.django_db


def test_decision_create_and_status_update_by_its_owner(cycle, executive, planner_a):
    d = decision_recorded(cycle, executive, owner=planner_a, text="Add a shift")
    assert d.step.number == 5 and d.created_by == executive
    decision_update(decision=d, user=planner_a, status="done")
    d.refresh_from_db()
    assert d.status == "done"
    with pytest.raises(PermissionDenied):
        decision_update(decision=d, user=planner_a, text="Something else")
    actions = list(
        AuditEvent.objects.filter(object_type="decision").values_list("action", "field", "user")
    )
    assert ("update", "status", planner_a.pk) in actions and ("create", "", executive.pk) in actions


def test_decision_needs_text_owner_and_due_date_all_listed(cycle, executive):
    with pytest.raises(ValidationFailed) as err:
        decision_create(
            cycle=cycle, user=executive, text=" ", owner=None, due_date=None, step_number=5
        )
    assert len(err.value.errors) == 3
    assert not Decision.objects.exists()


def test_sales_cannot_record_a_decision_in_step_5(cycle, sales_user):
    with pytest.raises(PermissionDenied):
        decision_recorded(cycle, sales_user, text="x")
