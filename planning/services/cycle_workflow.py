"""Running a cycle: start it (rolled forward), move steps, minutes and decisions.

Every change is recorded as an :class:`AuditEvent` (who, when, old → new) in the same
transaction as the change itself. A frozen (approved) cycle is read-only here too:
step statuses, minutes and decisions refuse with :class:`FrozenCycleError` (HTTP 409),
except a decision's *status* — decisions are follow-up actions that are carried out
after the plan is approved, and the decisions log tracks them across cycles.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning import engine
from planning.calendar import month_add
from planning.constants import DEFAULT_HORIZON, CycleStatus, DecisionStatus, StepStatus
from planning.measures import ACTUALS_HISTORY_MONTHS
from planning.models import AuditEvent, CycleStep, Decision, PlanningCycle, PlanValue
from planning.selectors import cycle_last_approved, plan_input
from planning.selectors_cycle import user_can_start_cycle, user_owns_step
from planning.services.cycles import cycle_create
from planning.services.plan_values import VALUE_QUANTUM, CellInput, plan_values_upsert
from sofp.exceptions import (
    ApplicationError,
    FrozenCycleError,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from valuestreams.selectors import user_is_executive

# Steps move one status at a time, forwards or back (a step reopened by mistake can
# be put back). Step 5 becomes done only through the approval.
STEP_MOVES: dict[str, set[str]] = {
    StepStatus.NOT_STARTED: {StepStatus.IN_PROGRESS},
    StepStatus.IN_PROGRESS: {StepStatus.DONE, StepStatus.NOT_STARTED},
    StepStatus.DONE: {StepStatus.IN_PROGRESS},
}
APPROVAL_STEP = 5
MAX_DECISION_TEXT = 2000


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
        object_type=type(obj).__name__.lower() if obj is not None else "cycle",
        object_id=getattr(obj, "pk", None),
        action=action,
        field=field,
        old="" if old is None else str(old),
        new="" if new is None else str(new),
        note=note,
        user=user if getattr(user, "pk", None) else None,
    )


def _refuse_frozen(cycle: PlanningCycle, what: str) -> None:
    if cycle.is_frozen:
        raise FrozenCycleError(
            f"Cycle {cycle.label} is approved and frozen; its {what} cannot be changed."
        )


def _lock_step(step: CycleStep) -> tuple[CycleStep, PlanningCycle]:
    """Lock the cycle row first (the approval locks it too), then re-read the step."""
    cycle = PlanningCycle.objects.select_for_update().get(pk=step.cycle_id)
    step = CycleStep.objects.select_for_update().get(pk=step.pk)
    step.cycle = cycle
    return step, cycle


# --- Starting a cycle -------------------------------------------------------------------


@dataclass
class RollForward:
    based_on: PlanningCycle | None = None
    copied: int = 0
    extended: int = 0
    opening_inventory: int = 0
    clamped: list[str] | None = None


def _to_decimal(x: float) -> Decimal:
    return Decimal(repr(float(x))).quantize(VALUE_QUANTUM, rounding=ROUND_HALF_EVEN)


def plan_roll_forward_cells(
    *, previous: PlanningCycle, cycle: PlanningCycle
) -> tuple[list[CellInput], RollForward]:
    """The previous frozen plan moved onto ``cycle``'s horizon.

    Plan months inside the new horizon are copied; months past the old horizon copy
    the old last month; actual sales are kept for the 12 months before the new first
    month; opening inventory is the engine's ending inventory of the month before the
    new first month (negative ending inventory — a shortage — opens at 0).
    """
    info = RollForward(based_on=previous, clamped=[])
    first, last = cycle.month, month_add(cycle.month, cycle.horizon - 1)
    prev_last = month_add(previous.month, previous.horizon - 1)
    actuals_from = month_add(first, -ACTUALS_HISTORY_MONTHS)
    rows = PlanValue.objects.filter(cycle=previous).values_list(
        "value_stream__code", "product_family__code", "month", "measure", "value"
    )
    cells: dict[tuple, CellInput] = {}
    last_month_rows = []
    for vs, fam, month, measure, value in rows:
        vs, fam = vs or "", fam or ""
        if measure == "opening_inventory":
            continue
        if measure == "actual_sales":
            keep = actuals_from <= month <= last
        else:
            keep = first <= month <= last
        if keep:
            cells[(vs, fam, month, measure)] = CellInput(vs, fam, month, measure, value)
        if month == prev_last and measure != "actual_sales":
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
                vs, code, first, "opening_inventory", _to_decimal(ending)
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
        note = (
            f"Rolled forward from {previous.label}: {info.copied} values copied, "
            f"{info.extended} extended, {info.opening_inventory} opening inventories."
            if previous
            else "No approved cycle before it: the plan starts empty."
        )
        audit_record(cycle=cycle, obj=cycle, action="start", user=user, note=note)
    return cycle, info


# --- Steps ------------------------------------------------------------------------------


def step_status_set(*, step: CycleStep, status: str, user: AbstractBaseUser) -> CycleStep:
    """Move a step one status forwards or back; owners only; never on a frozen cycle."""
    if status not in StepStatus.values:
        raise ValidationFailed(f"Unknown step status {status!r}.")
    with transaction.atomic():
        step, cycle = _lock_step(step)
        _refuse_frozen(cycle, "steps")
        if not user_owns_step(user, step):
            raise PermissionDenied(
                f"Only the owners of step {step.number} ({step.get_owner_role_display()}) "
                "can change its status."
            )
        old = step.status
        if old == status:
            return step
        if status not in STEP_MOVES[old]:
            raise ApplicationError(
                f"Step {step.number} is {step.get_status_display().lower()}; it can move to "
                + " or ".join(StepStatus(s).label.lower() for s in sorted(STEP_MOVES[old]))
                + "."
            )
        if step.number == APPROVAL_STEP and status == StepStatus.DONE:
            raise ApplicationError(
                "Step 5 is done when an executive approves the plan (use “Approve plan”)."
            )
        step.status = status
        step.save(update_fields=["status", "updated_at"])
        if cycle.status == CycleStatus.DRAFT:
            cycle.status = CycleStatus.IN_PROGRESS
            cycle.save(update_fields=["status", "updated_at"])
        audit_record(
            cycle=cycle, obj=step, action="status", field="status", old=old, new=status, user=user
        )
    return step


def _normalise_text(text: str) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def step_minutes_set(
    *, step: CycleStep, minutes: str, user: AbstractBaseUser, base: str | None = None
) -> CycleStep:
    """Save a step's minutes. ``base`` is the text the editor started from: when someone
    else saved in the meantime the save is refused rather than overwriting theirs."""
    minutes = _normalise_text(minutes)
    with transaction.atomic():
        step, cycle = _lock_step(step)
        _refuse_frozen(cycle, "minutes")
        if not user_owns_step(user, step):
            raise PermissionDenied(
                f"Only the owners of step {step.number} ({step.get_owner_role_display()}) "
                "can edit its minutes."
            )
        if base is not None and _normalise_text(base) != _normalise_text(step.minutes):
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
        step.minutes = minutes
        step.save(update_fields=["minutes", "updated_at"])
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


# --- Decisions --------------------------------------------------------------------------


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
    text = _normalise_text(text)
    with transaction.atomic():
        cycle = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
        _refuse_frozen(cycle, "decisions")
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
            other["text"] = _normalise_text(text)
        if owner is not _UNSET:
            other["owner"] = owner
        if due_date is not _UNSET:
            other["due_date"] = due_date
        other = {k: v for k, v in other.items() if getattr(decision, k) != v}
        if other:
            _refuse_frozen(cycle, "decisions (other than their status)")
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
