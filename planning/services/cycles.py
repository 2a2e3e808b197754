"""Creating planning cycles with their five scheduled steps."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning.calendar import step_schedule
from planning.constants import DEFAULT_HORIZON, STEPS
from planning.measures import MAX_HORIZON, MIN_HORIZON
from planning.models import Company, CycleStep, PlanningCycle, StepTemplate
from sofp.exceptions import ApplicationError, ValidationFailed


def cycle_steps_create(*, cycle: PlanningCycle, company: Company | None = None) -> list[CycleStep]:
    """Schedule the five steps on working days 1–5 from the step templates."""
    company = company or Company.get()
    templates = {t.number: t for t in StepTemplate.objects.all()}
    slots = step_schedule(
        month=cycle.month,
        holidays=company.holidays.values_list("date", flat=True),
        time_zone=company.time_zone,
        meeting_start=company.meeting_start,
        meeting_minutes=company.meeting_minutes,
        input_deadline=company.input_deadline,
    )
    steps = []
    for spec, slot in zip(STEPS, slots, strict=True):
        tpl = templates.get(spec.number)
        minutes = tpl.meeting_minutes if tpl else company.meeting_minutes
        steps.append(
            CycleStep(
                cycle=cycle,
                number=spec.number,
                name=tpl.name if tpl else spec.name,
                owner_role=tpl.owner_role if tpl else spec.owner_role,
                agenda=tpl.agenda if tpl else spec.agenda,
                meeting_start=slot.meeting_start,
                meeting_end=slot.meeting_start + dt.timedelta(minutes=minutes),
                input_deadline=slot.input_deadline,
            )
        )
    for step in steps:
        step.full_clean(exclude=["cycle"])
    return CycleStep.objects.bulk_create(steps)


def cycle_participants_fill(*, cycle: PlanningCycle) -> None:
    """Each step's participants: its owner role plus every value stream member."""
    from planning.selectors_cycle import step_participant_ids

    cache: dict[str, set[int]] = {}
    for step in cycle.steps.all():
        ids = cache.setdefault(step.owner_role, step_participant_ids(step.owner_role))
        step.participants.set(ids)


@transaction.atomic
def cycle_create(
    *,
    month: dt.date,
    horizon: int = DEFAULT_HORIZON,
    user: AbstractBaseUser | None = None,
    status: str = "draft",
    based_on: PlanningCycle | None = None,
) -> PlanningCycle:
    """A new cycle with its five steps; refuses a month that already has one."""
    month = month.replace(day=1)
    if not MIN_HORIZON <= horizon <= MAX_HORIZON:
        raise ValidationFailed(f"horizon must be between {MIN_HORIZON} and {MAX_HORIZON} months")
    if PlanningCycle.objects.filter(month=month).exists():
        raise ApplicationError(
            f"A cycle for {month:%Y-%m} already exists; open it instead of starting it again."
        )
    cycle = PlanningCycle(
        month=month, horizon=horizon, status=status, created_by=user, based_on=based_on
    )
    cycle.full_clean()
    cycle.save()
    cycle_steps_create(cycle=cycle)
    cycle_participants_fill(cycle=cycle)
    return cycle
