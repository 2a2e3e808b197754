"""Writing plan values: the one path every import, grid save and API call goes through.

It validates every cell (codes, scope, month, sign, duplicates, permissions) before it
writes anything, refuses frozen cycles, detects stale versions, and records history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from planning.calendar import month_add
from planning.measures import (
    ACTUALS_HISTORY_MONTHS,
    COMPANY,
    FAMILY,
    FIRST_MONTH_ONLY,
    MEASURE_SCOPE,
    STREAM,
)
from planning.models import PlanningCycle, PlanValue, PlanValueChange
from sofp.exceptions import FrozenCycleError, PermissionDenied, ValidationFailed, VersionConflict
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import user_can_edit_company_values
from valuestreams.selectors import value_streams_editable

VALUE_QUANTUM = Decimal("0.000001")
MAX_VALUE = Decimal("1e13")

CellKey = tuple[int | None, int | None, dt.date, str]


@dataclass(frozen=True)
class CellInput:
    """One cell to write. ``value=None`` clears the cell; ``version`` is what the user saw
    (0 = the cell was empty); ``label`` names the row/line for error messages."""

    value_stream: str
    product_family: str
    month: dt.date
    measure: str
    value: Decimal | None
    version: int | None = None
    label: str = ""


@dataclass
class UpsertResult:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    values: dict[CellKey, PlanValue] = field(default_factory=dict)
    # The same counts per value stream code ("" = company-wide cells), for previews.
    by_stream: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, stream_code: str, outcome: str) -> None:
        tally = self.by_stream.setdefault(
            stream_code, {"added": 0, "changed": 0, "unchanged": 0, "deleted": 0}
        )
        tally[outcome] += 1

    @property
    def touched(self) -> int:
        return self.added + self.changed + self.deleted

    def as_dict(self) -> dict[str, int]:
        return {
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


def cycle_accepts_month(*, cycle: PlanningCycle, measure: str, month: dt.date) -> bool:
    """Horizon months for plans; actual sales also for the months just before it."""
    last = month_add(cycle.month, cycle.horizon - 1)
    if measure in FIRST_MONTH_ONLY:
        return month == cycle.month
    first = (
        month_add(cycle.month, -ACTUALS_HISTORY_MONTHS)
        if measure == "actual_sales"
        else (cycle.month)
    )
    return month.day == 1 and first <= month <= last


def _prefix(cell: CellInput) -> str:
    return f"{cell.label}: " if cell.label else ""


@dataclass
class _Resolved:
    cell: CellInput
    key: CellKey
    value_stream: ValueStream | None
    family: ProductFamily | None
    value: Decimal | None


def _resolve(
    *, cycle: PlanningCycle, cells: Sequence[CellInput]
) -> tuple[list[_Resolved], list[str]]:
    """Map codes to rows and check every cell; return all problems, not the first."""
    stream_codes = {c.value_stream for c in cells if c.value_stream}
    family_codes = {c.product_family for c in cells if c.product_family}
    streams = {vs.code: vs for vs in ValueStream.objects.filter(code__in=stream_codes)}
    families = {
        f.code: f
        for f in ProductFamily.objects.filter(code__in=family_codes).select_related("value_stream")
    }
    errors: list[str] = []
    resolved: list[_Resolved] = []
    seen: dict[CellKey, str] = {}
    for cell in cells:
        p = _prefix(cell)
        problems_before = len(errors)
        scope = MEASURE_SCOPE.get(cell.measure)
        vs = streams.get(cell.value_stream) if cell.value_stream else None
        fam = families.get(cell.product_family) if cell.product_family else None
        if scope is None:
            errors.append(f"{p}unknown measure {cell.measure!r}")
        if cell.value_stream and vs is None:
            errors.append(f"{p}unknown value stream {cell.value_stream!r}")
        if cell.product_family and fam is None:
            errors.append(f"{p}unknown product family {cell.product_family!r}")
        if scope == FAMILY and not cell.product_family:
            errors.append(f"{p}measure {cell.measure!r} needs a product family")
        if scope == FAMILY and not cell.value_stream:
            errors.append(f"{p}measure {cell.measure!r} needs a value stream")
        if scope == STREAM and cell.product_family:
            errors.append(f"{p}measure {cell.measure!r} takes no product family")
        if scope == STREAM and not cell.value_stream:
            errors.append(f"{p}measure {cell.measure!r} needs a value stream")
        if scope == COMPANY and (cell.value_stream or cell.product_family):
            errors.append(f"{p}measure {cell.measure!r} takes no value stream or family")
        if fam is not None and vs is not None and fam.value_stream_id != vs.pk:
            errors.append(
                f"{p}product family {fam.code!r} belongs to value stream "
                f"{fam.value_stream.code!r}, not {vs.code!r}"
            )
        if scope and not cycle_accepts_month(cycle=cycle, measure=cell.measure, month=cell.month):
            if cell.measure in FIRST_MONTH_ONLY:
                errors.append(
                    f"{p}{cell.measure} belongs to the cycle's first month "
                    f"{cycle.month:%Y-%m}, not {cell.month:%Y-%m}"
                )
            else:
                errors.append(
                    f"{p}month {cell.month:%Y-%m} is outside the horizon "
                    f"{cycle.month:%Y-%m}..{month_add(cycle.month, cycle.horizon - 1):%Y-%m}"
                )
        value = cell.value
        if value is not None:
            if not value.is_finite():
                errors.append(f"{p}value must be a finite number")
            elif value < 0:
                errors.append(f"{p}{cell.measure} must not be negative (got {value})")
            elif abs(value) >= MAX_VALUE:
                errors.append(f"{p}value {value} is too large")
            else:
                value = value.quantize(VALUE_QUANTUM)
        key: CellKey = (
            vs.pk if vs else None,
            fam.pk if fam else None,
            cell.month,
            cell.measure,
        )
        if len(errors) == problems_before:
            if key in seen:
                first = seen[key]
                errors.append(f"{p}duplicate of {first}" if first else f"{p}duplicate cell")
            seen[key] = cell.label
            resolved.append(_Resolved(cell, key, vs, fam, value))
    return resolved, errors


def _check_permissions(*, user: AbstractBaseUser | None, rows: list[_Resolved]) -> None:
    if user is None:  # system paths (demo data, management commands run by operators)
        return
    editable = set(value_streams_editable(user=user).values_list("pk", flat=True))
    company_ok = None
    problems: list[str] = []
    denied_streams: set[str] = set()
    for r in rows:
        if r.value_stream is None:
            if company_ok is None:
                company_ok = user_can_edit_company_values(user=user)
            if not company_ok:
                problems.append(f"{_prefix(r.cell)}you may not edit company-wide values")
        elif r.value_stream.pk not in editable and r.value_stream.code not in denied_streams:
            denied_streams.add(r.value_stream.code)
            problems.append(
                f"{_prefix(r.cell)}you are not a planner of value stream {r.value_stream.code!r}"
            )
    if problems:
        raise PermissionDenied(
            "Not allowed: " + "; ".join(problems[:20]), extra={"errors": problems}
        )


def _existing(*, cycle: PlanningCycle, rows: list[_Resolved]) -> dict[CellKey, PlanValue]:
    if not rows:
        return {}
    months = {r.key[2] for r in rows}
    measures = {r.key[3] for r in rows}
    stream_ids = {r.key[0] for r in rows if r.key[0] is not None}
    scope = Q(value_stream_id__in=stream_ids)
    if any(r.key[0] is None for r in rows):
        scope |= Q(value_stream__isnull=True)
    # ``of=("self",)``: PostgreSQL refuses FOR UPDATE on the nullable side of the
    # outer join that select_related("updated_by") adds.
    qs = (
        PlanValue.objects.select_for_update(of=("self",))
        .filter(cycle=cycle, month__in=months, measure__in=measures)
        .filter(scope)
        .select_related("updated_by")
    )
    return {(pv.value_stream_id, pv.product_family_id, pv.month, pv.measure): pv for pv in qs}


def _conflict_payload(cell: CellInput, current: PlanValue | None) -> dict:
    return {
        "label": cell.label,
        "value_stream": cell.value_stream,
        "product_family": cell.product_family,
        "month": cell.month.strftime("%Y-%m"),
        "measure": cell.measure,
        "your_version": cell.version,
        "current_value": None if current is None else str(current.value),
        "current_version": 0 if current is None else current.version,
        "changed_by": getattr(getattr(current, "updated_by", None), "username", None),
        "changed_at": None if current is None else current.updated_at.isoformat(),
    }


def plan_values_upsert(
    *,
    cycle: PlanningCycle,
    cells: Iterable[CellInput],
    user: AbstractBaseUser | None,
    source: str = PlanValueChange.Source.GRID,
    check_versions: bool = False,
    dry_run: bool = False,
) -> UpsertResult:
    """Validate and write ``cells`` atomically; nothing is written if anything is wrong.

    Raises FrozenCycleError (cycle approved), ValidationFailed (every bad cell listed),
    PermissionDenied (a stream the user may not edit) or VersionConflict (a stale
    ``version``; the payload carries the current value and who changed it).
    """
    cells = list(cells)
    with transaction.atomic():
        # Lock the cycle row: writes to one cycle queue up, and an approval that
        # commits first is seen here (no write can slip into a frozen plan).
        locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
        if locked.is_frozen:
            raise FrozenCycleError(
                f"Cycle {locked.label} is approved and frozen; its plan cannot be changed."
            )
        rows, errors = _resolve(cycle=locked, cells=cells)
        if errors:
            raise ValidationFailed(
                f"{len(errors)} problem(s) found; nothing was saved.", errors=errors
            )
        _check_permissions(user=user, rows=rows)
        existing = _existing(cycle=locked, rows=rows)

        if check_versions:
            conflicts = [
                _conflict_payload(r.cell, existing.get(r.key))
                for r in rows
                if r.cell.version is not None
                and (existing[r.key].version if r.key in existing else 0) != r.cell.version
            ]
            if conflicts:
                raise VersionConflict(
                    "Someone else changed this in the meantime; nothing was saved.",
                    conflicts=conflicts,
                )

        result = UpsertResult()
        to_create: list[PlanValue] = []
        to_update: list[PlanValue] = []
        to_delete: list[PlanValue] = []
        history: list[_Change] = []
        now = timezone.now()
        uid = getattr(user, "pk", None)
        for r in rows:
            current = existing.get(r.key)
            code = r.value_stream.code if r.value_stream else ""
            if r.value is None:
                if current is None:
                    result.unchanged += 1
                    result.count(code, "unchanged")
                else:
                    result.count(code, "deleted")
                    to_delete.append(current)
                    history.append(_Change(r, None, current.value, None, current.version + 1))
                continue
            if current is None:
                # ``_id`` keywords: building tens of thousands of cells through the
                # related-object descriptors costs seconds on a large import.
                pv = PlanValue(
                    cycle_id=locked.pk,
                    value_stream_id=r.key[0],
                    product_family_id=r.key[1],
                    month=r.key[2],
                    measure=r.key[3],
                    value=r.value,
                    version=1,
                    updated_by_id=uid,
                    updated_at=now,
                )
                # Callers may read pv.value_stream / pv.product_family: no query for that.
                cache = pv._state.fields_cache
                cache["cycle"], cache["value_stream"], cache["product_family"] = (
                    locked,
                    r.value_stream,
                    r.family,
                )
                to_create.append(pv)
                result.count(code, "added")
                history.append(_Change(r, pv, None, r.value, 1))
                result.values[r.key] = pv
            elif current.value != r.value:
                history.append(_Change(r, current, current.value, r.value, current.version + 1))
                current.value = r.value
                current.version += 1
                current.updated_by_id = uid
                current.updated_at = now
                to_update.append(current)
                result.count(code, "changed")
                result.values[r.key] = current
            else:
                result.unchanged += 1
                result.count(code, "unchanged")
                result.values[r.key] = current
        result.added, result.changed, result.deleted = (
            len(to_create),
            len(to_update),
            len(to_delete),
        )
        if dry_run:
            transaction.set_rollback(True)
            return result
        try:
            _insert_cells(cycle=locked, cells=to_create)
        except IntegrityError as exc:  # a concurrent writer created the same cell first
            raise VersionConflict(
                "Someone else created these cells in the meantime; nothing was saved.",
                conflicts=[],
            ) from exc
        _update_cells(to_update)
        for i in range(0, len(to_delete), _CHUNK):
            PlanValue.objects.filter(pk__in=[pv.pk for pv in to_delete[i : i + _CHUNK]]).delete()
        _insert_history(cycle=locked, changes=history, source=source, uid=uid, now=now)
        if locked.status == "draft" and result.touched:
            PlanningCycle.objects.filter(pk=locked.pk).update(updated_at=now)
        return result


# ----------------------------------------------------------------- bulk writes
# Large imports write tens of thousands of cells. The ORM's bulk_create/bulk_update
# spend most of their time preparing each field of each object (and bulk_update builds
# one CASE per field), so the three writes below use one parameterised statement run
# with executemany; values are adapted by the backend's own ``adapt_*`` functions, so
# the same code serves SQLite and PostgreSQL.

_CHUNK = 500


@dataclass(frozen=True)
class _Change:
    """History of one cell, captured before the write (``old`` is the stored value)."""

    row: _Resolved
    plan_value: PlanValue | None
    old: Decimal | None
    new: Decimal | None
    version: int


def _column_sql(model: type, fields: Sequence[str]) -> tuple[str, list[str]]:
    qn = connection.ops.quote_name
    columns = [model._meta.get_field(f).column for f in fields]
    return qn(model._meta.db_table), [qn(c) for c in columns]


def _execute_many(sql: str, params: list[tuple]) -> None:
    if not params:
        return
    with connection.cursor() as cursor:
        for i in range(0, len(params), 5000):
            cursor.executemany(sql, params[i : i + 5000])


class _Adapt:
    """Backend adaptation of dates, datetimes and decimals, memoised per distinct date."""

    def __init__(self) -> None:
        self.ops = connection.ops
        self.months: dict[dt.date, object] = {}

    def month(self, day: dt.date) -> object:
        if day not in self.months:
            self.months[day] = self.ops.adapt_datefield_value(day)
        return self.months[day]

    def decimal(self, value: Decimal | None) -> object:
        return None if value is None else self.ops.adapt_decimalfield_value(value, 20, 6)

    def datetime(self, value: dt.datetime) -> object:
        return self.ops.adapt_datetimefield_value(value)


_CELL_FIELDS = (
    "cycle",
    "value_stream",
    "product_family",
    "month",
    "measure",
    "value",
    "version",
    "comment",
    "updated_by",
    "updated_at",
)


def _insert_cells(*, cycle: PlanningCycle, cells: list[PlanValue]) -> None:
    """INSERT new cells, then read their ids back (one query) so history can point at them."""
    if not cells:
        return
    table, columns = _column_sql(PlanValue, _CELL_FIELDS)
    marks = ", ".join(["%s"] * len(columns))
    adapt = _Adapt()
    stamp = adapt.datetime(cells[0].updated_at)
    _execute_many(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [
            (
                pv.cycle_id,
                pv.value_stream_id,
                pv.product_family_id,
                adapt.month(pv.month),
                pv.measure,
                adapt.decimal(pv.value),
                pv.version,
                "",
                pv.updated_by_id,
                stamp,
            )
            for pv in cells
        ],
    )
    wanted = {(pv.value_stream_id, pv.product_family_id, pv.month, pv.measure): pv for pv in cells}
    stream_ids = {k[0] for k in wanted if k[0] is not None}
    scope = Q(value_stream_id__in=stream_ids)
    if any(k[0] is None for k in wanted):
        scope |= Q(value_stream__isnull=True)
    ids = (
        PlanValue.objects.filter(cycle=cycle, version=1)
        .filter(month__in={k[2] for k in wanted}, measure__in={k[3] for k in wanted})
        .filter(scope)
        .values_list("pk", "value_stream_id", "product_family_id", "month", "measure")
    )
    for pk, *key in ids:
        pv = wanted.get(tuple(key))
        if pv is not None:
            pv.pk = pk
            pv._state.adding = False
            pv._state.db = connection.alias


def _update_cells(cells: list[PlanValue]) -> None:
    if not cells:
        return
    table, (value, version, user, at) = _column_sql(
        PlanValue, ("value", "version", "updated_by", "updated_at")
    )
    adapt = _Adapt()
    stamp = adapt.datetime(cells[0].updated_at)
    _execute_many(
        f"UPDATE {table} SET {value} = %s, {version} = %s, {user} = %s, {at} = %s "
        f"WHERE {connection.ops.quote_name(PlanValue._meta.pk.column)} = %s",
        [(adapt.decimal(pv.value), pv.version, pv.updated_by_id, stamp, pv.pk) for pv in cells],
    )


_CHANGE_FIELDS = (
    "cycle",
    "plan_value",
    "value_stream",
    "product_family",
    "month",
    "measure",
    "old_value",
    "new_value",
    "version",
    "source",
    "changed_by",
    "changed_at",
)


def _insert_history(
    *, cycle: PlanningCycle, changes: list[_Change], source: str, uid: int | None, now
) -> None:
    table, columns = _column_sql(PlanValueChange, _CHANGE_FIELDS)
    marks = ", ".join(["%s"] * len(columns))
    adapt = _Adapt()
    stamp = adapt.datetime(now)
    _execute_many(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [
            (
                cycle.pk,
                c.plan_value.pk if c.plan_value is not None and c.new is not None else None,
                c.row.key[0],
                c.row.key[1],
                adapt.month(c.row.key[2]),
                c.row.key[3],
                adapt.decimal(c.old),
                adapt.decimal(c.new),
                c.version,
                source,
                uid,
                stamp,
            )
            for c in changes
        ],
    )


def plan_value_comment_set(
    *, plan_value: PlanValue, text: str, user: AbstractBaseUser
) -> PlanValue:
    """Attach an assumption to a cell; same permission and freeze rules as its value."""
    with transaction.atomic():
        cycle = PlanningCycle.objects.select_for_update().get(pk=plan_value.cycle_id)
        if cycle.is_frozen:
            raise FrozenCycleError(f"Cycle {cycle.label} is approved and frozen.")
        row = _Resolved(
            CellInput(
                plan_value.value_stream.code if plan_value.value_stream else "",
                plan_value.product_family.code if plan_value.product_family else "",
                plan_value.month,
                plan_value.measure,
                plan_value.value,
            ),
            (
                plan_value.value_stream_id,
                plan_value.product_family_id,
                plan_value.month,
                plan_value.measure,
            ),
            plan_value.value_stream,
            plan_value.product_family,
            plan_value.value,
        )
        _check_permissions(user=user, rows=[row])
        plan_value.comment = text.strip()
        plan_value.save(update_fields=["comment", "updated_at"])
        return plan_value
