"""Approving a cycle's plan in step 5: the moment it freezes for good."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from planning.models import CycleStatus, PlanningCycle, StepStatus
from planning.selectors.cycles import (
    APPROVAL_STEP,
    cycle_refuse_frozen,
    cycle_steps_open,
    user_can_approve,
)
from planning.services.cycle_master import cycle_master_fill
from planning.services.cycles import audit_record
from planning.services.launches import launches_commit
from planning.services.notifications import notifications_resolve
from planning.services.scenarios import scenarios_freeze
from sofp.errors import ApplicationError, PermissionDenied
from sofp.model_update import model_update


class StepsNotDone(ApplicationError):
    """Steps 1–4 are not done and no override reason was given."""

    status = 409
    code = "steps_not_done"
    title = "Steps 1–4 are not done"


@transaction.atomic
def cycle_approve(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser,
    override_reason: str = "",
    note: str = "",
) -> PlanningCycle:
    """Executives approve; steps 1–4 must be done unless a reason is given. Freezes.

    ``note`` is what the meeting wants kept with the frozen plan (shown on the cycle and
    the review), e.g. which open overloads it accepted and why.
    """
    locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
    cycle_refuse_frozen(locked, "approval")
    if not user_can_approve(user, locked):
        raise PermissionDenied("Only executives can approve the plan.")
    open_steps = cycle_steps_open(locked)
    reason = (override_reason or "").strip()
    if open_steps and not reason:
        listed = ", ".join(str(n) for n in open_steps)
        raise StepsNotDone(
            f"Steps {listed} are not done. Finish them first, or approve with an override "
            "and give the reason."
        )
    # The frozen plan keeps the master as it is now: complete its copy first.
    cycle_master_fill(cycle=locked)
    # Launches held for the first time by an approved plan: their committed month.
    launches_commit(cycle=locked)
    now = timezone.now()
    approval = {
        "status": CycleStatus.APPROVED,
        "approved_at": now,
        "approved_by": user,
        "approval_override_reason": reason if open_steps else "",
        "approval_note": (note or "").strip(),
    }
    model_update(instance=locked, fields=list(approval), data=approval)
    locked.steps.filter(number=APPROVAL_STEP).update(status=StepStatus.DONE, updated_at=now)
    scenarios_freeze(cycle=locked)  # approval freezes the cycle's scenarios with it
    notifications_resolve(cycle=locked)
    audit_record(
        cycle=locked,
        obj=locked,
        action="approve",
        field="status",
        old=cycle.status,
        new=CycleStatus.APPROVED,
        note=f"Override: {reason}" if open_steps else "",
        user=user,
    )
    if settings.SOFP_BOARD_PACK_AUTO:
        # The approved board pack is archived by the worker once the approval commits.
        from planning.tasks import board_pack_build
        from sofp.queueing import enqueue_on_commit

        enqueue_on_commit(board_pack_build, locked.pk, "approved")
    return locked
