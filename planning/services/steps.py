"""Moving a cycle's steps through their statuses, and their minutes.

A frozen (approved) cycle is read-only: status and minutes refuse with
:class:`FrozenCycleError` (HTTP 409). Only a step's owners change it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning.models import AuditEvent, CycleStatus, CycleStep, PlanningCycle, StepStatus
from planning.selectors.cycles import (
    APPROVAL_STEP,
    cycle_refuse_frozen,
    step_moves,
    user_owns_step,
)
from planning.services.cycles import audit_record, text_normalise
from planning.services.notifications import notifications_resolve
from sofp.errors import ApplicationError, PermissionDenied, ValidationFailed, VersionConflict
from sofp.model_update import model_update


def _lock_step(step: CycleStep) -> tuple[CycleStep, PlanningCycle]:
    """Lock the cycle row first (the approval locks it too), then re-read the step."""
    cycle = PlanningCycle.objects.select_for_update().get(pk=step.cycle_id)
    step = CycleStep.objects.select_for_update().get(pk=step.pk)
    step.cycle = cycle
    return step, cycle


def _refuse_non_owner(user: AbstractBaseUser, step: CycleStep, what: str) -> None:
    if not user_owns_step(user, step):
        raise PermissionDenied(
            f"Only the owners of step {step.number} ({step.get_owner_role_display()}) can {what}."
        )


def step_status_set(*, step: CycleStep, status: str, user: AbstractBaseUser) -> CycleStep:
    """Move a step one status forwards or back; owners only; never on a frozen cycle."""
    if status not in StepStatus.values:
        raise ValidationFailed.of_field(
            "status", f"unknown step status {status!r}.", code="unknown_status"
        )
    with transaction.atomic():
        step, cycle = _lock_step(step)
        cycle_refuse_frozen(cycle, "steps")
        _refuse_non_owner(user, step, "change its status")
        old = step.status
        if old == status:
            return step
        if step.number == APPROVAL_STEP and status == StepStatus.DONE:
            raise ApplicationError(
                "Step 5 is done when an executive approves the plan (use “Approve plan”).",
                code="done_by_approval",
            )
        moves = step_moves(step)
        if status not in moves:
            raise ApplicationError(
                f"Step {step.number} is {step.get_status_display().lower()}; it can move to "
                + " or ".join(StepStatus(s).label.lower() for s in sorted(moves))
                + ".",
                code="step_move",
            )
        model_update(instance=step, fields=["status"], data={"status": status})
        if status == StepStatus.DONE:
            notifications_resolve(step=step)
        if cycle.status == CycleStatus.DRAFT:
            model_update(
                instance=cycle, fields=["status"], data={"status": CycleStatus.IN_PROGRESS}
            )
        audit_record(
            cycle=cycle, obj=step, action="status", field="status", old=old, new=status, user=user
        )
    return step


def step_minutes_set(
    *, step: CycleStep, minutes: str, user: AbstractBaseUser, base: str | None = None
) -> CycleStep:
    """Save a step's minutes. ``base`` is the text the editor started from: when someone
    else saved in the meantime the save is refused rather than overwriting theirs."""
    minutes = text_normalise(minutes)
    with transaction.atomic():
        step, cycle = _lock_step(step)
        cycle_refuse_frozen(cycle, "minutes")
        _refuse_non_owner(user, step, "edit its minutes")
        if base is not None and text_normalise(base) != text_normalise(step.minutes):
            last = (
                AuditEvent.objects.filter(
                    object_type="cyclestep", object_id=step.pk, field="minutes"
                )
                .select_related("user")
                .first()
            )
            who = f" by {last.user}" if last and last.user else ""
            raise VersionConflict(
                f"The minutes of step {step.number} were changed{who} while you were editing; "
                "nothing was saved. Copy your text, reload and merge.",
                conflicts=[{"field": "minutes", "current": step.minutes}],
            )
        old = step.minutes
        if old == minutes:
            return step
        model_update(instance=step, fields=["minutes"], data={"minutes": minutes})
        audit_record(
            cycle=cycle,
            obj=step,
            action="minutes",
            field="minutes",
            old=old,
            new=minutes,
            user=user,
        )
    return step
