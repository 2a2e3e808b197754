"""Writing the assumption register: create, change (versioned), delete, roll forward.

Every write takes the cycle's row (approval waits for it), refuses a frozen cycle,
checks the user's rights for the stream and measure (before and after a change), and
records each changed field as an :class:`AuditEvent` in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning.calendar import month_add
from planning.measures import MEASURE_LABELS
from planning.models import (
    ASSUMPTION_FAMILY_MEASURES,
    ASSUMPTION_MEASURES,
    Assumption,
    AssumptionStatus,
    CycleFamily,
    PlanningCycle,
)
from planning.selectors.assumptions import assumption_dict, assumption_rights
from planning.selectors.cycles import cycle_refuse_frozen
from planning.services.cycles import audit_record, text_normalise
from sofp.errors import (
    ApplicationError,
    PermissionDenied,
    Problem,
    ValidationFailed,
    VersionConflict,
    problems_sorted,
)
from sofp.spreadsheet_safety import FORMULA_PREFIXES
from valuestreams.models import ProductFamily, ValueStream

TEXT_MAX = 2000
IMPACT_MAX = 200
# The fields a change may touch, in the order problems are reported.
FIELDS = (
    "value_stream",
    "product_family",
    "measure",
    "first_month",
    "last_month",
    "text",
    "owner",
    "impact",
    "status",
)


def _month_text(d: dt.date | None) -> str:
    return f"{d:%Y-%m}" if d else ""


def _resolve(*, cycle: PlanningCycle, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Codes → objects and every rule of one assumption, each problem named by field."""
    problems: list[Problem] = []
    out = dict(data)
    vs_code = str(data.get("value_stream") or "").strip()
    stream = ValueStream.objects.filter(code=vs_code, active=True).first() if vs_code else None
    if stream is None:
        problems.append(
            Problem(
                "unknown_value_stream" if vs_code else "required",
                f"unknown value stream {vs_code!r}" if vs_code else "choose a value stream",
                field="value_stream",
            )
        )
    out["value_stream"] = stream
    measure = str(data.get("measure") or "")
    if measure not in ASSUMPTION_MEASURES:
        allowed = ", ".join(ASSUMPTION_MEASURES)
        problems.append(
            Problem("bad_measure", f"{measure!r} is not one of {allowed}", field="measure")
        )
    fam_code = str(data.get("product_family") or "").strip()
    family = None
    if fam_code:
        family = ProductFamily.objects.filter(code=fam_code).first()
        if family is None:
            problems.append(
                Problem(
                    "unknown_product_family", f"unknown family {fam_code!r}", field="product_family"
                )
            )
        elif stream is not None and _family_stream_id(cycle, family) != stream.pk:
            problems.append(
                Problem(
                    "family_not_in_stream",
                    f"family {fam_code} is not in value stream {stream.code}",
                    field="product_family",
                )
            )
        elif measure in ASSUMPTION_MEASURES and measure not in ASSUMPTION_FAMILY_MEASURES:
            label = MEASURE_LABELS.get(measure, measure)
            problems.append(
                Problem(
                    "family_on_stream_measure",
                    f"{label} belongs to the value stream: leave the family empty",
                    field="product_family",
                )
            )
    out["product_family"] = family
    first, last = data.get("first_month"), data.get("last_month")
    horizon_last = month_add(cycle.month, cycle.horizon - 1)
    for name, month in (("first_month", first), ("last_month", last)):
        if not isinstance(month, dt.date):
            problems.append(Problem("bad_month", "give a month as YYYY-MM", field=name))
        elif not cycle.month <= month.replace(day=1) <= horizon_last:
            problems.append(
                Problem(
                    "outside_horizon",
                    f"{month:%Y-%m} is outside the horizon ({cycle.label} to {horizon_last:%Y-%m})",
                    field=name,
                )
            )
        else:
            out[name] = month.replace(day=1)
    if isinstance(first, dt.date) and isinstance(last, dt.date) and first > last:
        problems.append(
            Problem(
                "months_reversed",
                f"the last month ({last:%Y-%m}) is before the first ({first:%Y-%m})",
                field="last_month",
            )
        )
    both = isinstance(first, dt.date) and isinstance(last, dt.date)
    if measure == "opening_inventory" and both:  # noqa: SIM102 (one rule, one reason)
        if first.replace(day=1) != cycle.month or last.replace(day=1) != cycle.month:
            problems.append(
                Problem(
                    "opening_inventory_month",
                    f"opening inventory has one month, the cycle's first ({cycle.label})",
                    field="first_month",
                )
            )
    text = text_normalise(str(data.get("text") or ""))
    if not text:
        problems.append(Problem("required", "say what the plan assumes", field="text"))
    elif len(text) > TEXT_MAX:
        problems.append(Problem("too_long", f"at most {TEXT_MAX:,} characters", field="text"))
    out["text"] = text
    impact = str(data.get("impact") or "").strip()
    if len(impact) > IMPACT_MAX:
        problems.append(Problem("too_long", f"at most {IMPACT_MAX} characters", field="impact"))
    out["impact"] = impact
    status = data.get("status") or AssumptionStatus.OPEN
    if status not in AssumptionStatus.values:
        problems.append(Problem("bad_status", "open, confirmed or retired", field="status"))
    out["status"] = status
    if data.get("owner") is None:
        problems.append(Problem("required", "name an owner", field="owner"))
    return out, problems


def _family_stream_id(cycle: PlanningCycle, family: ProductFamily) -> int:
    """The family's stream in this cycle (its master copy), else in the master."""
    copy = (
        CycleFamily.objects.filter(cycle=cycle, product_family=family)
        .values_list("value_stream_id", flat=True)
        .first()
    )
    return copy if copy is not None else family.value_stream_id


def _refuse_rights(user, stream: ValueStream | None, measure: str) -> None:
    if stream is None or measure not in ASSUMPTION_MEASURES:
        return
    rights = assumption_rights(user=user)
    if not rights.may_change(value_stream_id=stream.pk, measure=measure):
        label = MEASURE_LABELS.get(measure, measure).split(" (")[0].lower()
        raise PermissionDenied(
            f"You may not change {label} assumptions of value stream {stream.code}."
        )


def _locked_cycle(cycle: PlanningCycle) -> PlanningCycle:
    locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
    cycle_refuse_frozen(locked, "assumptions")
    return locked


def _fail(problems: list[Problem], what: str) -> None:
    if problems:
        raise ValidationFailed(f"The assumption was not {what}.", problems=problems)


@transaction.atomic
def assumption_create(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser | None,
    value_stream: str,
    measure: str,
    first_month: dt.date | None,
    last_month: dt.date | None,
    text: str,
    product_family: str = "",
    owner: AbstractBaseUser | None = None,
    impact: str = "",
    status: str = AssumptionStatus.OPEN,
    source: str = "page",
) -> Assumption:
    """A new assumption (owner: the creator unless named). ``user=None``: system path."""
    locked = _locked_cycle(cycle)
    data, problems = _resolve(
        cycle=locked,
        data={
            "value_stream": value_stream,
            "product_family": product_family,
            "measure": measure,
            "first_month": first_month,
            "last_month": last_month,
            "text": text,
            "owner": owner or user,
            "impact": impact,
            "status": status,
        },
    )
    if user is not None:
        _refuse_rights(user, data["value_stream"], measure)
    _fail(problems, "created")
    a = Assumption.objects.create(
        cycle=locked, created_by=user, updated_by=user, **{k: data[k] for k in FIELDS}
    )
    audit_record(
        cycle=locked,
        obj=a,
        action="create",
        user=user,
        new=a.text,
        note=f"{_where(a)} via {source}",
    )
    return a


def _where(a: Assumption) -> str:
    fam = a.product_family.code if a.product_family_id else "all families"
    months = _month_text(a.first_month)
    if a.last_month != a.first_month:
        months += f"–{_month_text(a.last_month)}"
    return f"{a.value_stream.code} · {fam} · {a.measure} · {months}"


def _shown(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return _month_text(value)
    if isinstance(value, ValueStream | ProductFamily):
        return value.code
    if hasattr(value, "get_username"):
        return value.get_username()
    return str(value)


def _check_version(a: Assumption, version: int | None) -> None:
    if version is not None and version != a.version:
        who = a.updated_by.username if a.updated_by_id else "someone"
        raise VersionConflict(
            f"Assumption {a.pk} was changed by {who} meanwhile (version {a.version}, "
            f"you had {version}); reload it and try again.",
            conflicts=[{"id": a.pk, "version": a.version, "current": assumption_dict(a)}],
        )


@transaction.atomic
def assumption_update(
    *,
    assumption: Assumption,
    user: AbstractBaseUser | None,
    version: int | None,
    changes: dict[str, Any],
    source: str = "page",
) -> Assumption:
    """Change some fields (``changes`` by name, codes for stream and family). A stale
    ``version`` is a conflict (409); changing nothing keeps the version."""
    locked_cycle = _locked_cycle(assumption.cycle)
    a = (
        Assumption.objects.select_for_update(of=("self",))
        .select_related("value_stream", "product_family", "owner", "updated_by", "cycle")
        .filter(pk=assumption.pk, cycle=locked_cycle)
        .first()
    )
    if a is None:
        raise ValidationFailed("That assumption no longer exists.", code="gone")
    if user is not None:
        _refuse_rights(user, a.value_stream, a.measure)
    _check_version(a, version)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ValidationFailed(
            "Unknown fields.",
            problems=[
                Problem("unknown_field", "not a field of an assumption", field=f) for f in unknown
            ],
        )
    current = {
        "value_stream": a.value_stream.code,
        "product_family": a.product_family.code if a.product_family_id else "",
        "measure": a.measure,
        "first_month": a.first_month,
        "last_month": a.last_month,
        "text": a.text,
        "owner": a.owner,
        "impact": a.impact,
        "status": a.status,
    }
    data, problems = _resolve(cycle=locked_cycle, data={**current, **changes})
    if user is not None:
        _refuse_rights(user, data["value_stream"], data["measure"])
    _fail(problems, "changed")
    changed = []
    for name in FIELDS:
        old = getattr(a, name)
        new = data[name]
        if _shown(name, old) != _shown(name, new):
            changed.append((name, old, new))
            setattr(a, name, new)
    if not changed:
        return a
    a.version += 1
    a.updated_by = user
    a.save()
    for name, old, new in changed:
        audit_record(
            cycle=locked_cycle,
            obj=a,
            action="status" if name == "status" else "change",
            field=name,
            old=_shown(name, old),
            new=_shown(name, new),
            user=user,
            note=f"version {a.version} via {source}",
        )
    return a


@transaction.atomic
def assumption_delete(
    *,
    assumption: Assumption,
    user: AbstractBaseUser | None,
    version: int | None = None,
    source: str = "page",
) -> None:
    """Remove an assumption of a cycle that is not frozen (its history stays)."""
    locked_cycle = _locked_cycle(assumption.cycle)
    a = (
        Assumption.objects.select_for_update(of=("self",))
        .select_related("value_stream", "product_family", "updated_by", "cycle")
        .filter(pk=assumption.pk, cycle=locked_cycle)
        .first()
    )
    if a is None:
        return
    if user is not None:
        _refuse_rights(user, a.value_stream, a.measure)
    _check_version(a, version)
    audit_record(
        cycle=locked_cycle,
        obj=a,
        action="delete",
        user=user,
        old=a.text,
        note=f"{_where(a)} via {source}",
    )
    a.delete()


def assumptions_roll_forward(*, previous: PlanningCycle, cycle: PlanningCycle) -> int:
    """Copy ``previous``'s open assumptions onto ``cycle`` (called inside ``cycle_start``).

    Months move onto the new horizon (those ending before it stay behind; the first
    month is at least the new cycle's); families and streams out of the plan, or a family
    now in another stream, stay behind. Each copy remembers where it came from, keeps its
    owner, text and impact, and starts at version 1 with a "roll forward" history entry.
    """
    first, last = cycle.month, month_add(cycle.month, cycle.horizon - 1)
    streams = {
        fam: vs
        for fam, vs, active in CycleFamily.objects.filter(cycle=cycle).values_list(
            "product_family_id", "value_stream_id", "active"
        )
        if active
    }
    made = []
    for a in Assumption.objects.filter(
        cycle=previous,
        status=AssumptionStatus.OPEN,
        last_month__gte=first,
        value_stream__active=True,
    ).select_related("value_stream", "product_family"):
        if a.product_family_id is not None:
            if not a.product_family.active:
                continue
            if streams and streams.get(a.product_family_id) != a.value_stream_id:
                continue
            if not streams and a.product_family.value_stream_id != a.value_stream_id:
                continue
        start, end = max(a.first_month, first), min(a.last_month, last)
        if a.measure == "opening_inventory":
            start = end = first
        made.append(
            Assumption(
                cycle=cycle,
                value_stream=a.value_stream,
                product_family=a.product_family,
                measure=a.measure,
                first_month=start,
                last_month=end,
                text=a.text,
                owner_id=a.owner_id,
                impact=a.impact,
                status=AssumptionStatus.OPEN,
                rolled_from=a,
                created_by_id=a.created_by_id,
                updated_by_id=a.updated_by_id,
            )
        )
    for a in made:
        a.save()
        audit_record(
            cycle=cycle,
            obj=a,
            action="roll_forward",
            user=None,
            new=a.text,
            note=f"{_where(a)} from {previous.label} (assumption {a.rolled_from_id})",
        )
    return len(made)


# --------------------------------------------------------------------------- files

IMPORT_COLUMNS = ("value_stream", "product_family", "measure", "first_month", "last_month")
IMPORT_COLUMNS += ("text", "owner", "impact", "status")


def _unescape(text: str) -> str:
    """Our CSV export prefixes formula-like text with ``'``; reading it back drops it."""
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


@dataclass
class AssumptionImport:
    created: int = 0
    changed: int = 0
    unchanged: int = 0

    def summary(self) -> str:
        return f"{self.created} created, {self.changed} changed, {self.unchanged} unchanged"


@transaction.atomic
def assumptions_import(
    *, cycle: PlanningCycle, data: bytes, filename: str, user: AbstractBaseUser | None
) -> AssumptionImport:
    """A register CSV/XLSX (the export's columns; ``id`` and ``version`` optional) into
    ``cycle``: rows without an id are created, rows with one change that assumption
    (a stale ``version`` is a conflict). All or nothing: every problem is listed by line
    and column, and nothing is written. Importing our own export again changes nothing."""
    from planning.calendar import parse_month
    from planning.services.decisions import user_resolve
    from sofp.tables import read_header, read_table

    _locked_cycle(cycle)
    header = read_header(data=data, filename=filename)
    optional = tuple(c for c in ("id", "version") if c in header)
    table = read_table(data=data, filename=filename, columns=IMPORT_COLUMNS + optional)
    problems = list(table.errors)
    result = AssumptionImport()
    ids = {line: (row.get("id"), row.get("version")) for line, row in table.rows}
    for line, row in table.rows:
        cells = {k: "" if v is None else str(v).strip() for k, v in row.items()}
        if isinstance(row.get("first_month"), dt.datetime | dt.date):  # an .xlsx date cell
            cells["first_month"] = f"{row['first_month']:%Y-%m}"
        if isinstance(row.get("last_month"), dt.datetime | dt.date):
            cells["last_month"] = f"{row['last_month']:%Y-%m}"
        months = {}
        for name in ("first_month", "last_month"):
            months[name] = parse_month(cells[name])
            if months[name] is None:
                problems.append(
                    Problem("bad_month", "give a month as YYYY-MM", line=line, column=name)
                )
        raw_id, raw_version = (str(x or "").strip() for x in ids.get(line, ("", "")))
        if (raw_id and not raw_id.isdigit()) or (raw_version and not raw_version.isdigit()):
            problems.append(
                Problem("bad_id", "id and version are whole numbers", line=line, column="id")
            )
            continue
        if any(m is None for m in months.values()):
            continue
        fields = {
            "value_stream": cells["value_stream"],
            "product_family": cells["product_family"],
            "measure": cells["measure"],
            **months,
            "text": _unescape(cells["text"]),
            "impact": _unescape(cells["impact"]),
            "status": cells["status"] or AssumptionStatus.OPEN,
        }
        try:
            owner = user_resolve(cells["owner"]) or user
            if raw_id:
                a = Assumption.objects.filter(cycle=cycle, pk=int(raw_id)).first()
                if a is None:
                    raise ValidationFailed.of_field("id", f"no assumption {raw_id} in this cycle")
                before = a.version
                a = assumption_update(
                    assumption=a,
                    user=user,
                    version=int(raw_version) if raw_version else None,
                    changes={**fields, "owner": owner},
                    source="file",
                )
                if a.version == before:
                    result.unchanged += 1
                else:
                    result.changed += 1
            else:
                assumption_create(cycle=cycle, user=user, owner=owner, source="file", **fields)
                result.created += 1
        except ApplicationError as exc:
            for p in exc.problems or [Problem(exc.code, exc.message)]:
                problems.append(Problem(p.code, p.message, line=line, column=p.field or None))
    if problems:
        raise ValidationFailed(
            "The file was not imported; nothing was changed.", problems=problems_sorted(problems)
        )
    return result
