"""Steps, minutes and decisions: who may change them, how, and never once frozen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.models import AuditEvent
from planning.services.approval import cycle_approve
from planning.services.decisions import decision_update
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.steps import step_minutes_set, step_status_set
from sofp.errors import (
    ApplicationError,
    FrozenCycleError,
    PermissionDenied,
    VersionConflict,
)
from tests.factories import MembershipFactory, UserFactory, decision_recorded

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(stream_a):
    user = UserFactory(username="mgr")
    MembershipFactory(user=user, value_stream=stream_a, role="manager")
    return user


def step(cycle, n):
    return cycle.steps.get(number=n)


def _walk_steps_1_to_4(cycle, user):
    for n in range(1, 5):
        step_status_set(step=step(cycle, n), status="in_progress", user=user)
        step_status_set(step=step(cycle, n), status="done", user=user)


def test_owner_moves_a_step_forward_and_back_with_history(cycle, sales_user):
    s = step_status_set(step=step(cycle, 1), status="in_progress", user=sales_user)
    assert s.status == "in_progress"
    cycle.refresh_from_db()
    assert cycle.status == "in_progress"
    step_status_set(step=s, status="done", user=sales_user)
    step_status_set(step=s, status="in_progress", user=sales_user)  # reopened
    events = list(AuditEvent.objects.filter(object_type="cyclestep", object_id=s.pk).order_by("pk"))
    assert [(e.old, e.new, e.user) for e in events] == [
        ("not_started", "in_progress", sales_user),
        ("in_progress", "done", sales_user),
        ("done", "in_progress", sales_user),
    ]


def test_a_step_cannot_jump_from_not_started_to_done(cycle, sales_user):
    with pytest.raises(ApplicationError, match="can move to in progress"):
        step_status_set(step=step(cycle, 1), status="done", user=sales_user)
    assert step(cycle, 1).status == "not_started"


def test_sales_cannot_move_or_minute_step_2(cycle, sales_user):
    with pytest.raises(PermissionDenied):
        step_status_set(step=step(cycle, 2), status="in_progress", user=sales_user)
    with pytest.raises(PermissionDenied):
        step_minutes_set(step=step(cycle, 2), minutes="mine", user=sales_user)
    assert step(cycle, 2).minutes == "" and not AuditEvent.objects.exists()


def test_stream_manager_owns_steps_2_and_3_but_not_1(cycle, manager):
    step_status_set(step=step(cycle, 2), status="in_progress", user=manager)
    step_minutes_set(step=step(cycle, 3), minutes="Overtime agreed.", user=manager)
    with pytest.raises(PermissionDenied):
        step_status_set(step=step(cycle, 1), status="in_progress", user=manager)


def test_planner_cannot_move_any_step(cycle, planner_a):
    for n in range(1, 6):
        with pytest.raises(PermissionDenied):
            step_status_set(step=step(cycle, n), status="in_progress", user=planner_a)


def test_step_5_is_done_only_by_approval(cycle, executive):
    step_status_set(step=step(cycle, 5), status="in_progress", user=executive)
    with pytest.raises(ApplicationError, match="approves the plan"):
        step_status_set(step=step(cycle, 5), status="done", user=executive)


def test_minutes_refuse_to_overwrite_a_concurrent_edit(cycle, sales_user, executive):
    s = step(cycle, 1)
    step_minutes_set(step=s, minutes="First\r\nline", user=sales_user, base="")
    assert step(cycle, 1).minutes == "First\nline"
    with pytest.raises(VersionConflict, match="changed by"):
        step_minutes_set(step=s, minutes="Other text", user=executive, base="")
    assert step(cycle, 1).minutes == "First\nline"
    # Starting from the current text (browsers send CRLF) is fine.
    step_minutes_set(step=s, minutes="Second", user=executive, base="First\r\nline")
    assert step(cycle, 1).minutes == "Second"


@pytest.fixture
def frozen(cycle, executive, planner_a, family_a):
    plan_values_upsert(
        cycle=cycle,
        cells=[CellInput("A", "A-1", cycle.month, "demand", Decimal("10"))],
        user=None,
    )
    d = decision_recorded(cycle, executive, owner=planner_a)
    _walk_steps_1_to_4(cycle, executive)
    cycle_approve(cycle=cycle, user=executive)
    cycle.refresh_from_db()
    return cycle, d


def test_approval_marks_step_5_done_and_freezes(frozen):
    cycle, _ = frozen
    assert cycle.is_frozen and step(cycle, 5).status == "done"


def test_frozen_cycle_refuses_steps_minutes_decisions_and_plan(frozen, executive, planner_a):
    cycle, d = frozen
    with pytest.raises(FrozenCycleError):
        step_status_set(step=step(cycle, 1), status="in_progress", user=executive)
    with pytest.raises(FrozenCycleError):
        step_minutes_set(step=step(cycle, 1), minutes="late", user=executive)
    with pytest.raises(FrozenCycleError):
        decision_recorded(cycle, executive, text="late", due=dt.date(2027, 3, 1))
    with pytest.raises(FrozenCycleError):
        decision_update(decision=d, user=executive, due_date=dt.date(2027, 9, 1))
    with pytest.raises(FrozenCycleError):
        plan_values_upsert(
            cycle=cycle,
            cells=[CellInput("A", "A-1", cycle.month, "demand", Decimal("11"))],
            user=None,
            source="import",
        )
    assert step(cycle, 1).status == "done" and step(cycle, 1).minutes == ""
    assert cycle.values.get().value == Decimal("10")


def test_frozen_cycle_still_takes_decision_status_updates(frozen, planner_a):
    _, d = frozen
    decision_update(decision=d, user=planner_a, status="done")
    d.refresh_from_db()
    assert d.status == "done"


def test_planner_cannot_approve(cycle, planner_a):
    with pytest.raises(PermissionDenied):
        cycle_approve(cycle=cycle, user=planner_a, override_reason="because")
    cycle.refresh_from_db()
    assert not cycle.is_frozen
