"""Writing NPD launches (SOFP.md "NPD launches"): create one with its new family, change
it (versions, history), copy the ramp into demand, carry launches forward, commit them
at approval.

Every path — the page, the API, the admin, the demo — calls these functions, so the
rights (managers of the NPD stream and executives), the frozen rule, the version check
and the history (``AuditEvent``, object type ``launch``) are the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from planning.calendar import parse_month
from planning.models import (
    MAX_RAMP_MONTHS,
    Launch,
    LaunchStatus,
    PlanningCycle,
    PlanValueChange,
)
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.launches import launch_dict, ramp_by_month, user_can_edit_launches
from planning.services import plan_values
from planning.services.cycle_master import cycle_masters_sync
from planning.services.cycles import audit_record
from planning.services.demand_copy import demand_copy
from planning.services.plan_values import UpsertResult
from sofp.errors import (
    NotFound,
    PermissionDenied,
    Problem,
    ValidationFailed,
    VersionConflict,
)
from valuestreams.models import CODE_VALIDATOR, ProductFamily, ValueStream

# Fields a launch update may change, and what the history calls them.
UPDATE_FIELDS = ("planned_month", "status", "actual_month", "ramp", "development_hours", "note")
MAX_HOURS = Decimal("1000000")
MAX_UNITS = Decimal("1000000000")
NOTE_MAX = 2000
_FAMILY_NUMBERS = {
    "unit_price": Decimal("0"),
    "unit_material_cost": Decimal("0"),
    "hours_per_unit": Decimal("0"),
    "dos_min": Decimal("10"),
    "dos_max": Decimal("30"),
}


# --------------------------------------------------------------------------- parsing


def _number(value: Any, field: str, problems: list[Problem], *, limit: Decimal) -> float | None:
    if isinstance(value, bool):
        value = None
    try:
        d = Decimal(str(value).strip().replace(",", "")) if value is not None else None
    except (InvalidOperation, ValueError):
        d = None
    if d is None or not d.is_finite():
        problems.append(Problem("not_a_number", f"{value!r} is not a number", field=field))
        return None
    if d < 0:
        problems.append(Problem("negative", f"must not be negative (got {d})", field=field))
        return None
    if d >= limit:
        problems.append(Problem("too_large", f"{d} is too large", field=field))
        return None
    return float(round(d, 6))


def ramp_parse(raw: Any, problems: list[Problem]) -> list[float]:
    """Units per month from launch: a list, or text like ``100, 250, 400``."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        items: Sequence[Any] = [x for x in re.split(r"[;\s]+|,\s+|,(?=\S)", raw.strip()) if x]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        problems.append(Problem("invalid", "give the ramp as a list of units", field="ramp"))
        return []
    if len(items) > MAX_RAMP_MONTHS:
        problems.append(
            Problem("too_long", f"at most {MAX_RAMP_MONTHS} months of ramp", field="ramp")
        )
        return []
    out = []
    for i, item in enumerate(items):
        n = _number(item, f"ramp[{i}]", problems, limit=MAX_UNITS)
        if n is not None:
            out.append(n)
    return out


def hours_parse(raw: Any, problems: list[Problem]) -> dict[str, float]:
    """Development hours per month: a mapping, or text like ``2026-12: 300, 2027-01: 400``."""
    if raw is None or raw == "":
        return {}
    pairs: list[tuple[Any, Any]]
    if isinstance(raw, str):
        pairs = []
        for chunk in re.split(r"[,;\n]+", raw):
            if not chunk.strip():
                continue
            month, sep, hours = chunk.partition(":")
            if not sep:
                month, sep, hours = chunk.strip().partition(" ")
            pairs.append((month.strip(), hours.strip()))
    elif isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        problems.append(
            Problem("invalid", 'give the hours as {"YYYY-MM": hours}', field="development_hours")
        )
        return {}
    out: dict[str, float] = {}
    for month_text, hours in pairs:
        month = parse_month(str(month_text))
        field = f"development_hours[{month_text}]"
        if month is None:
            problems.append(
                Problem("bad_month", f"{month_text!r} is not a month (YYYY-MM)", field=field)
            )
            continue
        n = _number(hours, field, problems, limit=MAX_HOURS)
        if n is not None:
            out[f"{month:%Y-%m}"] = n
    if len(out) > 120:
        problems.append(
            Problem("too_long", "at most 120 months of hours", field="development_hours")
        )
    return out


def _month(raw: Any, field: str, problems: list[Problem], *, required: bool) -> dt.date | None:
    if isinstance(raw, dt.date):
        return raw.replace(day=1)
    if raw is None or raw == "":
        if required:
            problems.append(Problem("required", "give the month (YYYY-MM)", field=field))
        return None
    month = parse_month(str(raw))
    if month is None:
        problems.append(Problem("bad_month", f"{raw!r} is not a month (YYYY-MM)", field=field))
    return month


def _check_plan_months(
    *,
    cycle: PlanningCycle,
    planned: dt.date | None,
    hours: Mapping[str, float],
    problems: list[Problem],
    check_planned: bool = True,
) -> None:
    """A planned launch month not before the cycle; hours in the cycle's months before it."""
    if planned is not None and check_planned and planned < cycle.month:
        problems.append(
            Problem(
                "launch_before_cycle",
                f"the planned launch month {planned:%Y-%m} is before the cycle "
                f"{cycle.label}; plan it for {cycle.label} or later",
                field="planned_month",
                month=f"{planned:%Y-%m}",
            )
        )
    for month_text in hours:
        month = parse_month(month_text)
        if month is None:
            continue
        field = f"development_hours[{month_text}]"
        if month < cycle.month:
            problems.append(
                Problem(
                    "hours_before_cycle",
                    f"{month_text} is before the cycle {cycle.label}",
                    field=field,
                    month=month_text,
                )
            )
        elif planned is not None and month >= planned:
            problems.append(
                Problem(
                    "hours_after_launch",
                    f"development hours are for the months before the launch "
                    f"({planned:%Y-%m}); {month_text} is not",
                    field=field,
                    month=month_text,
                )
            )


def _stream(code: Any, field: str, problems: list[Problem]) -> ValueStream | None:
    code = str(code or "").strip()
    if not code:
        problems.append(Problem("required", "give the value stream's code", field=field))
        return None
    vs = ValueStream.objects.filter(code=code, active=True).first()
    if vs is None:
        problems.append(
            Problem(
                "unknown_value_stream", f"no value stream {code!r}", field=field, value_stream=code
            )
        )
    return vs


# --------------------------------------------------------------------------- create


@transaction.atomic
def launch_create(
    *, cycle: PlanningCycle, user: AbstractBaseUser | None, data: Mapping[str, Any]
) -> Launch:
    """A new launch in ``cycle`` with its new family (in the receiving stream, the master
    and every open cycle's master copy). Every problem of the input is listed at once
    and nothing is written. ``user=None`` is a trusted system path (demo, admin)."""
    cycle = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
    cycle_refuse_frozen(cycle, "launches")
    problems: list[Problem] = []
    npd = _stream(data.get("npd_stream"), "npd_stream", problems)
    if (
        npd is not None
        and user is not None
        and not user_can_edit_launches(user=user, npd_stream=npd)
    ):
        raise PermissionDenied(
            f"Only the managers of {npd.code} and executives change its launches."
        )
    if npd is None and user is not None:
        from planning.selectors.launches import npd_streams_editable

        if not npd_streams_editable(user=user).exists():
            raise PermissionDenied("Only NPD stream managers and executives change launches.")
    if npd is not None and npd.kind != ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT:
        problems.append(
            Problem(
                "not_npd_stream",
                f"{npd.code} is not a new product development stream",
                field="npd_stream",
                value_stream=npd.code,
            )
        )
    receiving = _stream(data.get("receiving_stream"), "receiving_stream", problems)
    if receiving is not None and receiving.kind == ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT:
        problems.append(
            Problem(
                "receiving_stream_is_npd",
                f"{receiving.code} is itself a new product development stream; a launch "
                "goes into an order fulfilment stream",
                field="receiving_stream",
                value_stream=receiving.code,
            )
        )
    code = str(data.get("product_family") or "").strip()
    name = str(data.get("family_name") or "").strip() or code
    if not code:
        problems.append(Problem("required", "give the new family's code", field="product_family"))
    elif not CODE_VALIDATOR.regex.match(code):
        problems.append(
            Problem("invalid_code", f"{code!r}: {CODE_VALIDATOR.message}", field="product_family")
        )
    elif ProductFamily.objects.filter(code=code).exists():
        problems.append(
            Problem(
                "family_code_in_use",
                f"the family code {code} is in use; a launch creates a new family",
                field="product_family",
                product_family=code,
            )
        )
    if len(name) > 200:
        problems.append(Problem("too_long", "at most 200 characters", field="family_name"))
    numbers: dict[str, float] = {}
    for field, default in _FAMILY_NUMBERS.items():
        raw = data.get(field)
        n = _number(default if raw in (None, "") else raw, field, problems, limit=Decimal("1e9"))
        if n is not None:
            numbers[field] = n
    if {"dos_min", "dos_max"} <= set(numbers) and numbers["dos_max"] < numbers["dos_min"]:
        problems.append(Problem("dos_band", "must be at least dos_min", field="dos_max"))
    planned = _month(data.get("planned_month"), "planned_month", problems, required=True)
    ramp = ramp_parse(data.get("ramp"), problems)
    hours = hours_parse(data.get("development_hours"), problems)
    _check_plan_months(cycle=cycle, planned=planned, hours=hours, problems=problems)
    note = str(data.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        problems.append(Problem("too_long", f"at most {NOTE_MAX} characters", field="note"))
    if problems:
        raise ValidationFailed(
            f"The launch was not created: {len(problems)} problem(s); nothing was written.",
            problems=problems,
        )
    assert npd is not None and receiving is not None and planned is not None
    family = ProductFamily(
        code=code,
        name=name,
        value_stream=receiving,
        **{k: Decimal(str(v)) for k, v in numbers.items()},
    )
    family.full_clean()
    # The new family goes to the master and, explicitly, to the master copy of every
    # cycle that is not frozen (this one and any other open cycle); frozen ones never.
    ProductFamily.objects.bulk_create([family])
    if family.pk is None:  # a backend that returns no ids from bulk inserts
        family = ProductFamily.objects.get(code=code)
    cycle_masters_sync(family_ids=[family.pk])
    launch = Launch.objects.create(
        cycle=cycle,
        product_family=family,
        npd_stream=npd,
        receiving_stream=receiving,
        planned_month=planned,
        ramp=ramp,
        development_hours=hours,
        note=note,
        created_by=user,
        updated_by=user,
    )
    audit_record(
        cycle=cycle,
        obj=launch,
        action="launch_create",
        user=user,
        new=f"{code} from {npd.code} into {receiving.code}, planned {planned:%Y-%m}",
    )
    return launch


# --------------------------------------------------------------------------- update


def _shown(field: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return f"{value:%Y-%m}"
    if field == "ramp":
        return ", ".join(f"{v:g}" for v in value)
    if field == "development_hours":
        return ", ".join(f"{k}: {v:g}" for k, v in sorted(value.items()))
    return str(value)


@transaction.atomic
def launch_update(
    *,
    launch: Launch,
    user: AbstractBaseUser | None,
    changes: Mapping[str, Any],
    version: int | None,
) -> Launch:
    """Change a launch (``UPDATE_FIELDS``). ``version`` is what the user saw: a stale one
    is a conflict (409) carrying the launch as it is now; None skips the check (system
    paths only). One history entry per changed field; the version grows by one."""
    cycle = PlanningCycle.objects.select_for_update().get(pk=launch.cycle_id)
    cycle_refuse_frozen(cycle, "launches")
    current = (
        Launch.objects.select_for_update(of=("self",))
        .select_related("product_family", "npd_stream", "receiving_stream", "updated_by", "cycle")
        .filter(pk=launch.pk)
        .first()
    )
    if current is None:
        raise NotFound("That launch no longer exists.")
    if user is not None and not user_can_edit_launches(user=user, npd_stream=current.npd_stream):
        raise PermissionDenied(
            f"Only the managers of {current.npd_stream.code} and executives change its launches."
        )
    if version is not None and version != current.version:
        raise VersionConflict(
            f"{current.product_family.code} was changed by someone else meanwhile "
            f"(version {current.version}, you had {version}); nothing was written.",
            conflicts=[launch_dict(current)],
        )
    problems: list[Problem] = []
    unknown = set(changes) - set(UPDATE_FIELDS)
    for name in sorted(unknown):
        problems.append(Problem("unknown_field", f"{name} cannot be changed here", field=name))
    new: dict[str, Any] = {}
    if "planned_month" in changes:
        new["planned_month"] = _month(
            changes["planned_month"], "planned_month", problems, required=True
        )
    if "status" in changes:
        status = str(changes["status"] or "")
        if status not in LaunchStatus.values:
            problems.append(
                Problem(
                    "invalid", f"status is one of {', '.join(LaunchStatus.values)}", field="status"
                )
            )
        else:
            new["status"] = status
    if "actual_month" in changes:
        new["actual_month"] = _month(
            changes["actual_month"], "actual_month", problems, required=False
        )
    if "ramp" in changes:
        new["ramp"] = ramp_parse(changes["ramp"], problems)
    if "development_hours" in changes:
        new["development_hours"] = hours_parse(changes["development_hours"], problems)
    if "note" in changes:
        new["note"] = str(changes["note"] or "").strip()
        if len(new["note"]) > NOTE_MAX:
            problems.append(Problem("too_long", f"at most {NOTE_MAX} characters", field="note"))
    status = new.get("status", current.status)
    actual = new.get("actual_month", current.actual_month)
    if status == LaunchStatus.LAUNCHED:
        if actual is None:
            problems.append(
                Problem(
                    "actual_month_required",
                    "a launched launch needs its actual month",
                    field="actual_month",
                )
            )
        elif actual > plan_values.current_month():
            problems.append(
                Problem(
                    "actual_month_future",
                    f"{actual:%Y-%m} has not started yet; a launch is recorded once it happened",
                    field="actual_month",
                )
            )
    elif "actual_month" in new and actual is not None:
        problems.append(
            Problem(
                "actual_month_not_launched",
                "only a launched launch has an actual month",
                field="actual_month",
            )
        )
    elif "status" in new:
        new["actual_month"] = None  # back to planned, or cancelled: no actual month
    planned = new.get("planned_month") or current.planned_month
    _check_plan_months(
        cycle=cycle,
        planned=planned,
        hours=new.get("development_hours", {}) if "development_hours" in new else {},
        problems=problems,
        check_planned="planned_month" in new and new["planned_month"] != current.planned_month,
    )
    if "planned_month" in new and "development_hours" not in new:
        # Moving the launch earlier must not leave hours at or after it.
        late = [
            m
            for m in (current.development_hours or {})
            if parse_month(m) and parse_month(m) >= planned
        ]
        for m in late:
            problems.append(
                Problem(
                    "hours_after_launch",
                    f"development hours of {m} lie at or after the new launch month "
                    f"{planned:%Y-%m}; move them too",
                    field=f"development_hours[{m}]",
                    month=m,
                )
            )
    if problems:
        raise ValidationFailed(
            f"The launch was not changed: {len(problems)} problem(s); nothing was written.",
            problems=problems,
        )
    changed = [f for f, v in new.items() if getattr(current, f) != v]
    if not changed:
        return current
    for f in changed:
        audit_record(
            cycle=cycle,
            obj=current,
            action="launch_update",
            field=f,
            old=_shown(f, getattr(current, f)),
            new=_shown(f, new[f]),
            user=user,
        )
        setattr(current, f, new[f])
    current.version += 1
    current.updated_by = user
    current.full_clean(exclude=["cycle", "product_family", "npd_stream", "receiving_stream"])
    current.save()
    if "status" in changed:
        _family_in_plan(current, status != LaunchStatus.CANCELLED)
    return current


def _family_in_plan(launch: Launch, active: bool) -> None:
    """A cancelled launch's family leaves the plan (inactive in the master and the open
    cycles' copies); frozen cycles keep theirs. It stays in the launch record."""
    family = launch.product_family
    if family.active != active:
        family.active = active
        ProductFamily.objects.filter(pk=family.pk).update(active=active)
        # Every open cycle's copy takes the flag (and only it: their prices stay theirs).
        cycle_masters_sync(family_ids=[family.pk], family_fields=("active",))


# --------------------------------------------------------------------------- the ramp


def demand_use_ramp(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser | None,
    cells: Sequence[tuple[str, dt.date, int | None]],
) -> UpsertResult:
    """Copy a launch's ramp into demand for ``cells`` — ``(family code, month, version of
    the demand the user saw or None)`` — through the one write path (rights, frozen
    rule, versions as typing it); history says "Demand copied from the launch ramp". A
    cell outside the ramp is a problem, and nothing is written."""
    codes = {code for code, _, _ in cells}
    launches = {
        launch.product_family.code: launch
        for launch in Launch.objects.filter(cycle=cycle, product_family__code__in=codes)
        .exclude(status=LaunchStatus.CANCELLED)
        .select_related("product_family", "receiving_stream")
    }

    def ramp_units(code: str, month: dt.date) -> tuple[str, Decimal] | None:
        launch = launches.get(code)
        units = ramp_by_month(launch).get(month) if launch else None
        return None if units is None else (launch.receiving_stream.code, Decimal(repr(units)))

    return demand_copy(
        cycle=cycle,
        user=user,
        cells=cells,
        lookup=ramp_units,
        source=PlanValueChange.Source.USE_RAMP,
        problem_code="no_ramp",
        missing="launch ramp",
        summary="ramp",
    )


# --------------------------------------------------------------------------- the cycle


def launches_roll_forward(*, previous: PlanningCycle, cycle: PlanningCycle) -> int:
    """The new cycle holds every launch of the plan it starts from, as approved there
    (committed month carried; cancelled ones too: they stay in the record, out of the
    plan). Returns how many were copied."""
    have = set(Launch.objects.filter(cycle=cycle).values_list("product_family_id", flat=True))
    rows = [
        Launch(
            cycle=cycle,
            product_family_id=launch.product_family_id,
            npd_stream_id=launch.npd_stream_id,
            receiving_stream_id=launch.receiving_stream_id,
            planned_month=launch.planned_month,
            committed_month=launch.committed_month or launch.planned_month
            if previous.is_frozen
            else launch.committed_month,
            actual_month=launch.actual_month,
            status=launch.status,
            ramp=launch.ramp,
            development_hours={
                m: h
                for m, h in (launch.development_hours or {}).items()
                if (parse_month(m) or cycle.month) >= cycle.month
            },
            note=launch.note,
        )
        for launch in Launch.objects.filter(cycle=previous).exclude(product_family_id__in=have)
    ]
    Launch.objects.bulk_create(rows)
    return len(rows)


def launches_commit(*, cycle: PlanningCycle) -> int:
    """At approval: each launch the cycle holds for the first time in an approved plan
    keeps its planned month as its committed month (frozen with the cycle)."""
    return Launch.objects.filter(cycle=cycle, committed_month__isnull=True).update(
        committed_month=F("planned_month"), updated_at=timezone.now()
    )


def launch_get(*, cycle: PlanningCycle, launch_id: int) -> Launch:
    launch = (
        Launch.objects.filter(cycle=cycle, pk=launch_id)
        .select_related("cycle", "product_family", "npd_stream", "receiving_stream", "updated_by")
        .first()
    )
    if launch is None:
        raise NotFound(f"Cycle {cycle.label} has no launch {launch_id}.")
    return launch


def launch_history(*, launch: Launch) -> list[dict]:
    """Who changed what, when, newest first (every cycle's row of this launch)."""
    from planning.models import AuditEvent

    ids = list(
        Launch.objects.filter(product_family_id=launch.product_family_id).values_list(
            "pk", flat=True
        )
    )
    return [
        {
            "at": e.at.isoformat(),
            "user": getattr(e.user, "username", None),
            "cycle": e.cycle.label if e.cycle else None,
            "action": e.action,
            "field": e.field,
            "old": e.old,
            "new": e.new,
        }
        for e in AuditEvent.objects.filter(object_type="launch", object_id__in=ids)
        .select_related("user", "cycle")
        .order_by("-at", "-pk")
    ]
