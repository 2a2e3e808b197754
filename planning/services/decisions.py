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

from planning.models import CycleStep, Decision, DecisionStatus, PlanningCycle
from planning.selectors.cycles import user_owns_step
from planning.services.cycles import audit_record, cycle_refuse_frozen, text_normalise
from sofp.exceptions import PermissionDenied, ValidationFailed
from valuestreams.roles import user_is_executive

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
        raise ValidationFailed(f"owner: unknown user {text!r}.")
    return user


def _check_decision_fields(*, text: str, owner: object, due_date: object) -> list[str]:
    errors = []
    if not text:
        errors.append("text: describe the decision.")
    elif len(text) > MAX_DECISION_TEXT:
        errors.append(f"text: at most {MAX_DECISION_TEXT} characters.")
    if owner is None:
        errors.append("owner: every decision needs an owner.")
    if due_date is None:
        errors.append("due_date: every decision needs a due date (YYYY-MM-DD).")
    return errors


def _can_manage_decisions(user: AbstractBaseUser, step: CycleStep | None) -> bool:
    if step is not None:
        return user_owns_step(user, step)
    return user_is_executive(user)  # admins included


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
                raise ValidationFailed(f"step: cycle {cycle.label} has no step {step_number}.")
        if not _can_manage_decisions(user, step):
            where = f"step {step.number}" if step else "this cycle"
            raise PermissionDenied(f"Only the owners of {where} can record its decisions.")
        errors = _check_decision_fields(text=text, owner=owner, due_date=due_date)
        if errors:
            raise ValidationFailed("The decision was not saved: " + " ".join(errors), errors=errors)
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
        manager = _can_manage_decisions(user, decision.step)
        changes: dict[str, tuple[object, object]] = {}
        if status is not None:
            if status not in DecisionStatus.values:
                raise ValidationFailed(f"status: unknown decision status {status!r}.")
            if not (manager or decision.owner_id == user.pk):
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
            errors = _check_decision_fields(
                text=other.get("text", decision.text),
                owner=other.get("owner", decision.owner),
                due_date=other.get("due_date", decision.due_date),
            )
            if errors:
                raise ValidationFailed(
                    "The decision was not saved: " + " ".join(errors), errors=errors
                )
            for k, v in other.items():
                changes[k] = (getattr(decision, k), v)
        if not changes:
            return decision
        for k, (_old, new) in changes.items():
            setattr(decision, k, new)
        decision.full_clean()
        decision.save(update_fields=[*changes, "updated_at"])
        for k, (old, new) in changes.items():
            audit_record(
                cycle=cycle, obj=decision, action="update", field=k, old=old, new=new, user=user
            )
    return decision
