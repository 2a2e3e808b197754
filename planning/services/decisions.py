"""Decisions taken in a cycle's steps: record them, update them, assign them.

On a frozen cycle only a decision's *status* can still change: decisions are follow-up
actions carried out after the plan is approved, and the decisions log tracks them
across cycles.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning.models import Decision, DecisionStatus, PlanningCycle
from planning.selectors.cycles import (
    cycle_refuse_frozen,
    user_can_set_decision_status,
    user_manages_decisions,
)
from planning.services.cycles import audit_record, text_normalise
from planning.services.notifications import notifications_resolve
from sofp.errors import PermissionDenied, Problem, ValidationFailed
from sofp.model_update import model_update

MAX_DECISION_TEXT = 2000


def user_resolve(identifier: str | int | None) -> AbstractBaseUser | None:
    """A user by username or numeric id; None when empty."""
    if identifier in (None, ""):
        return None
    User = get_user_model()
    text = str(identifier).strip()
    user = User.objects.filter(username=text, is_active=True).first()
    if user is None and text.isdigit():
        user = User.objects.filter(pk=int(text), is_active=True).first()
    if user is None:
        raise ValidationFailed.of_field("owner", f"unknown user {text!r}.", code="unknown_user")
    return user


def _check_decision_fields(*, text: str, owner: object, due_date: object) -> list[Problem]:
    problems = []
    if not text:
        problems.append(Problem("required", "describe the decision.", field="text"))
    elif len(text) > MAX_DECISION_TEXT:
        message = f"at most {MAX_DECISION_TEXT} characters."
        problems.append(Problem("too_long", message, field="text"))
    if owner is None:
        problems.append(Problem("required", "every decision needs an owner.", field="owner"))
    if due_date is None:
        message = "every decision needs a due date (YYYY-MM-DD)."
        problems.append(Problem("required", message, field="due_date"))
    return problems


def _not_saved(problems: list[Problem]) -> ValidationFailed:
    text = " ".join(p.text for p in problems)
    return ValidationFailed(f"The decision was not saved: {text}", problems=problems)


def decision_create(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser,
    text: str,
    owner: AbstractBaseUser | None,
    due_date: dt.date | None,
    step_number: int | None = None,
) -> Decision:
    """Record a decision taken in a step (step owners) or by the executives."""
    text = text_normalise(text)
    with transaction.atomic():
        cycle = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
        cycle_refuse_frozen(cycle, "decisions")
        step = None
        if step_number is not None:
            step = cycle.steps.filter(number=step_number).first()
            if step is None:
                raise ValidationFailed.of_field(
                    "step", f"cycle {cycle.label} has no step {step_number}."
                )
        if not user_manages_decisions(user, step):
            where = f"step {step.number}" if step else "this cycle"
            raise PermissionDenied(f"Only the owners of {where} can record its decisions.")
        problems = _check_decision_fields(text=text, owner=owner, due_date=due_date)
        if problems:
            raise _not_saved(problems)
        decision = Decision(
            cycle=cycle, step=step, text=text, owner=owner, due_date=due_date, created_by=user
        )
        decision.full_clean()
        decision.save()
        audit_record(
            cycle=cycle,
            obj=decision,
            action="create",
            new=text,
            note=f"owner {owner}, due {due_date:%Y-%m-%d}"
            + (f", step {step.number}" if step else ""),
            user=user,
        )
    return decision


_UNSET = object()


def decision_update(
    *,
    decision: Decision,
    user: AbstractBaseUser,
    status: str | None = None,
    text: str | None = None,
    owner: object = _UNSET,
    due_date: object = _UNSET,
) -> Decision:
    """Change a decision. Its owner may set its status; step owners may change all of
    it. On a frozen cycle only the status can still change (the follow-up goes on)."""
    with transaction.atomic():
        cycle = PlanningCycle.objects.select_for_update().get(pk=decision.cycle_id)
        decision = (
            Decision.objects.select_for_update(of=("self",))
            .select_related("step")
            .get(pk=decision.pk)
        )
        manager = user_manages_decisions(user, decision.step)
        changes: dict[str, tuple[object, object]] = {}
        if status is not None:
            if status not in DecisionStatus.values:
                raise ValidationFailed.of_field("status", f"unknown decision status {status!r}.")
            if not user_can_set_decision_status(user, decision, manages=manager):
                raise PermissionDenied(
                    "Only the decision's owner or the step owners can update it."
                )
            if status != decision.status:
                changes["status"] = (decision.status, status)
        other: dict[str, object] = {}
        if text is not None:
            other["text"] = text_normalise(text)
        if owner is not _UNSET:
            other["owner"] = owner
        if due_date is not _UNSET:
            other["due_date"] = due_date
        other = {k: v for k, v in other.items() if getattr(decision, k) != v}
        if other:
            cycle_refuse_frozen(cycle, "decisions (other than their status)")
            if not manager:
                raise PermissionDenied("Only the step owners can edit a decision.")
            problems = _check_decision_fields(
                text=other.get("text", decision.text),
                owner=other.get("owner", decision.owner),
                due_date=other.get("due_date", decision.due_date),
            )
            if problems:
                raise _not_saved(problems)
            for k, v in other.items():
                changes[k] = (getattr(decision, k), v)
        if not changes:
            return decision
        model_update(
            instance=decision,
            fields=list(changes),
            data={k: new for k, (_, new) in changes.items()},
        )
        for k, (old, new) in changes.items():
            audit_record(
                cycle=cycle, obj=decision, action="update", field=k, old=old, new=new, user=user
            )
        if decision.status != DecisionStatus.OPEN:
            notifications_resolve(decision=decision)
    return decision
