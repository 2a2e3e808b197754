"""Cycles: create one with its five scheduled steps, start a month (rolled forward),
and the guards and audit trail that every cycle write shares.

Every change to a cycle's workflow is recorded as an :class:`AuditEvent` (who, when,
old → new) in the same transaction as the change itself (:func:`audit_record`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from planning import engine
from planning.calendar import month_add, step_schedule
from planning.measures import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    MIN_HORIZON,
    SYSTEM_MEASURES,
    value_from_float,
)
from planning.models import (
    STEPS,
    AuditEvent,
    Company,
    CycleStep,
    PlanningCycle,
    PlanValue,
    StepTemplate,
)
from planning.selectors.cycles import (
    company_holidays,
    step_participant_ids,
    user_can_start_cycle,
)
from planning.selectors.plans import cycle_last_approved, plan_input
from planning.services.actuals import plan_actual_sales_fill
from planning.services.baseline import baseline_request
from planning.services.cycle_master import cycle_master_fill
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import ApplicationError, PermissionDenied, ValidationFailed


def _object_type(obj: object | None) -> str:
    if obj is None or isinstance(obj, PlanningCycle):
        return "cycle"
    return type(obj).__name__.lower()


def audit_record(
    *,
    cycle: PlanningCycle | None,
    obj: object | None,
    action: str,
    user: AbstractBaseUser | None,
    field: str = "",
    old: object = "",
    new: object = "",
    note: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        cycle=cycle,
        object_type=_object_type(obj),
        object_id=getattr(obj, "pk", None),
        action=action,
        field=field,
        old="" if old is None else str(old),
        new="" if new is None else str(new),
        note=note,
        user=user if getattr(user, "pk", None) else None,
    )


def text_normalise(text: str) -> str:
    """Minutes and decision texts: one kind of line break, no surrounding blanks."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def cycle_steps_create(*, cycle: PlanningCycle, company: Company | None = None) -> list[CycleStep]:
    """Schedule the five steps on working days 1–5 from the step templates."""
    company = company or Company.get()
    templates = {t.number: t for t in StepTemplate.objects.all()}
    slots = step_schedule(
        month=cycle.month,
        holidays=company_holidays(company),
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
            f"A cycle for {month:%Y-%m} already exists; open it instead of starting it again.",
            code="cycle_exists",
        )
    cycle = PlanningCycle(
        month=month, horizon=horizon, status=status, created_by=user, based_on=based_on
    )
    cycle.full_clean()
    cycle.save()
    cycle_steps_create(cycle=cycle)
    cycle_participants_fill(cycle=cycle)
    # The cycle's own master copy, taken now (Master data belongs to the cycle).
    cycle_master_fill(cycle=cycle)
    # Actual sales are facts: the new plan holds those of its window from the start.
    if not cycle.is_frozen:
        plan_actual_sales_fill(cycle=cycle, user=user)
    return cycle


# --- Starting a cycle -------------------------------------------------------------------


@dataclass
class RollForward:
    based_on: PlanningCycle | None = None
    copied: int = 0
    extended: int = 0
    opening_inventory: int = 0
    clamped: list[str] | None = None
    assumptions: int = 0
    launches: int = 0


def plan_roll_forward_cells(
    *, previous: PlanningCycle, cycle: PlanningCycle
) -> tuple[list[CellInput], RollForward]:
    """The previous frozen plan moved onto ``cycle``'s horizon.

    Plan months inside the new horizon are copied; months past the old horizon copy
    the old last month; actual sales are not copied: ``cycle_create`` filled them from
    the actuals store (facts are kept once, and the frozen plan's copy may be older than
    a fact corrected since); opening inventory is the engine's ending inventory of the
    month before the new first month (negative ending inventory — a shortage — opens at 0).
    """
    info = RollForward(based_on=previous, clamped=[])
    first, last = cycle.month, month_add(cycle.month, cycle.horizon - 1)
    prev_last = month_add(previous.month, previous.horizon - 1)
    # Inactive families and streams are out of the plan: their values stay behind.
    rows = PlanValue.objects.filter(
        PlanValue.filled,
        Q(product_family__isnull=True) | Q(product_family__active=True),
        Q(value_stream__isnull=True) | Q(value_stream__active=True),
        cycle=previous,
    ).values_list("value_stream__code", "product_family__code", "month", "measure", "value")
    cells: dict[tuple, CellInput] = {}
    last_month_rows = []
    for vs, fam, month, measure, value in rows:
        vs, fam = vs or "", fam or ""
        if measure in ("opening_inventory", "actual_sales") or measure in SYSTEM_MEASURES:
            continue  # from the projection, the facts, or new (the baseline)
        if first <= month <= last:
            cells[(vs, fam, month, measure)] = CellInput(vs, fam, month, measure, value)
        if month == prev_last:
            last_month_rows.append((vs, fam, measure, value))
    info.copied = len(cells)
    month = month_add(prev_last, 1)
    while month <= last:
        for vs, fam, measure, value in last_month_rows:
            cells[(vs, fam, month, measure)] = CellInput(vs, fam, month, measure, value)
            info.extended += 1
        month = month_add(month, 1)

    before_first = month_add(first, -1)
    if previous.month <= before_first <= prev_last:
        projection = engine.project(plan_input(cycle=previous))
        fam = projection.family
        at = fam[fam["month"] == pd.Period(before_first, freq="M")]
        for vs, code, ending in at[
            ["value_stream", "product_family", "ending_inventory"]
        ].itertuples(index=False):
            if pd.isna(ending):
                continue
            if ending < 0:
                info.clamped.append(code)
                ending = 0.0
            cells[(vs, code, first, "opening_inventory")] = CellInput(
                vs, code, first, "opening_inventory", value_from_float(ending)
            )
            info.opening_inventory += 1
    return list(cells.values()), info


def cycle_start(
    *,
    month: dt.date,
    user: AbstractBaseUser | None,
    horizon: int | None = None,
) -> tuple[PlanningCycle, RollForward]:
    """Start ``month``'s cycle: five scheduled steps, participants, and the last approved
    plan rolled forward one month. ``user=None`` is a trusted operator path (command)."""
    if user is not None and not user_can_start_cycle(user):
        raise PermissionDenied("Only executives and administrators can start a cycle.")
    month = month.replace(day=1)
    with transaction.atomic():
        previous = cycle_last_approved(before=month)
        if horizon is None:
            horizon = previous.horizon if previous else DEFAULT_HORIZON
        cycle = cycle_create(
            month=month, horizon=horizon, user=user, status="in_progress", based_on=previous
        )
        info = RollForward()
        if previous is not None:
            cells, info = plan_roll_forward_cells(previous=previous, cycle=cycle)
            plan_values_upsert(cycle=cycle, cells=cells, user=None, source="roll_forward")
            from planning.services.assumptions import assumptions_roll_forward
            from planning.services.launches import launches_roll_forward

            info.assumptions = assumptions_roll_forward(previous=previous, cycle=cycle)
            info.launches = launches_roll_forward(previous=previous, cycle=cycle)
        note = (
            f"Rolled forward from {previous.label}: {info.copied:,} values copied, "
            f"{info.extended:,} extended, {info.opening_inventory:,} opening inventories, "
            f"{info.assumptions:,} open assumptions, {info.launches:,} launches."
            if previous
            else "No approved cycle before it: the plan starts empty."
        )
        audit_record(cycle=cycle, obj=cycle, action="start", user=user, note=note)
        # The statistical baseline of the new month, in the background after commit.
        baseline_request(cycle=cycle, user=None)
    return cycle, info
