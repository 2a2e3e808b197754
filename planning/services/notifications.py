"""In-app notifications: marking them read (reminders create them, see reminders.py)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from planning.models import CycleStep, Decision, Notification, PlanningCycle


def notifications_mark_read(*, user: AbstractBaseUser, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``ids`` is None).

    Only the user's own rows are touched, whatever ids are posted.
    """
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def notifications_resolve(
    *,
    cycle: PlanningCycle | None = None,
    step: CycleStep | None = None,
    decision: Decision | None = None,
) -> int:
    """Clear the unread notifications whose cause has ended (marked read, not deleted).

    A step done ends its deadline, meeting and overdue notices; an approved cycle ends
    every step notice of the cycle (the step-5 overdue one above all); a decision done
    or cancelled ends its due and overdue notices.
    """
    qs = Notification.objects.filter(read_at__isnull=True)
    if cycle is not None:
        qs = qs.filter(step__cycle=cycle)
    elif step is not None:
        qs = qs.filter(step=step)
    elif decision is not None:
        qs = qs.filter(decision=decision)
    else:
        return 0
    return qs.update(read_at=timezone.now())
