"""Writing plan values: the one path every import, grid save and API call goes through.

It validates every cell (codes, scope, month, sign, duplicates, permissions) before it
writes anything, refuses frozen cycles, detects stale versions, and records history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
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
from valuestreams.selectors import (
    user_can_edit_company_values,
    value_streams_editable,
)

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
    qs = (
        PlanValue.objects.select_for_update(of=("self",))
        .filter(cycle=cycle, month__in=months, measure__in=measures)
        .filter(scope)
        # The name only (for conflict messages): no User object per cell.
        .annotate(updated_by_name=F("updated_by__username"))
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
        "changed_by": getattr(current, "updated_by_name", None),
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
        history: list[PlanValueChange] = []
        now = timezone.now()
        uid = getattr(user, "pk", None)
        for r in rows:
            current = existing.get(r.key)
            if r.value is None:
                if current is None:
                    result.unchanged += 1
                else:
                    to_delete.append(current)
                    history.append(
                        _change(locked, r, current, None, current.version + 1, source, uid)
                    )
                continue
            if current is None:
                pv = PlanValue(
                    cycle=locked,
                    value_stream=r.value_stream,
                    product_family=r.family,
                    month=r.key[2],
                    measure=r.key[3],
                    value=r.value,
                    version=1,
                    updated_by_id=uid,
                    updated_at=now,
                )
                to_create.append(pv)
                history.append(_change(locked, r, pv, r.value, 1, source, uid, created=True))
                result.values[r.key] = pv
            elif current.value != r.value:
                history.append(
                    _change(locked, r, current, r.value, current.version + 1, source, uid)
                )
                current.value = r.value
                current.version += 1
                current.updated_by_id = uid
                current.updated_at = now
                to_update.append(current)
                result.values[r.key] = current
            else:
                result.unchanged += 1
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
            if to_create:
                _create_values(locked, to_create)
        except IntegrityError as exc:  # a concurrent writer created the same cell first
            raise VersionConflict(
                "Someone else created these cells in the meantime; nothing was saved.",
                conflicts=[],
            ) from exc
        if to_update:
            _update_values(to_update)
        if to_delete:
            PlanValue.objects.filter(pk__in=[pv.pk for pv in to_delete]).delete()
        _insert_history(history, now=now)
        if locked.status == "draft" and result.touched:
            PlanningCycle.objects.filter(pk=locked.pk).update(updated_at=now)
        return result


def _adapter(field) -> Callable[[object], object]:
    """How a Python value of ``field`` goes to the database driver (the ORM's adapters,
    without compiling an expression per value)."""
    ops = connection.ops
    internal = field.get_internal_type()
    if internal == "DecimalField":
        return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    if internal == "DateTimeField":
        return ops.adapt_datetimefield_value
    if internal == "DateField":
        return ops.adapt_datefield_value
    return lambda v: v


def _params(objs: Sequence, fields: list) -> list[list]:
    adapters = [(f.attname, _adapter(f)) for f in fields]
    return [
        [None if (v := getattr(obj, name)) is None else adapt(v) for name, adapt in adapters]
        for obj in objs
    ]


def _executemany(sql: str, params: list[list]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _insert_rows(model, objs: Sequence) -> None:
    """INSERT many rows with one ``executemany``: ``bulk_create`` compiles every field of
    every row (and, on SQLite, splits into batches of ~90 rows), which dominated large
    uploads. Primary keys are not set here."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    _executemany(sql, _params(objs, fields))


def _create_values(cycle: PlanningCycle, rows: list[PlanValue]) -> None:
    """Insert new cells, then read their primary keys back (one query)."""
    _insert_rows(PlanValue, rows)
    by_key = {(pv.value_stream_id, pv.product_family_id, pv.month, pv.measure): pv for pv in rows}
    ids = PlanValue.objects.filter(
        cycle=cycle,
        month__in={pv.month for pv in rows},
        measure__in={pv.measure for pv in rows},
    ).values_list("pk", "value_stream_id", "product_family_id", "month", "measure")
    for pk, *key in ids:
        pv = by_key.get(tuple(key))
        if pv is not None:
            pv.pk = pk
            pv._state.adding = False
            pv._state.db = connection.alias
    if any(pv.pk is None for pv in rows):  # cannot happen inside the locked transaction
        raise RuntimeError("new plan values were not found after inserting them")


def _update_values(rows: list[PlanValue]) -> None:
    """Write value, version, updated_by and updated_at of many cells in one executemany.

    ``bulk_update`` builds a CASE expression per field and row; with thousands of rows
    that takes seconds in the ORM alone. One parameterised UPDATE per row, sent with
    ``executemany``, is the same write for a fraction of the cost.
    """
    meta = PlanValue._meta
    fields = [meta.get_field(n) for n in ("value", "version", "updated_by", "updated_at")]
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s"
    params = _params(rows, fields)
    for row, pv in zip(params, rows, strict=True):
        row.append(pv.pk)
    _executemany(sql, params)


def _insert_history(rows: list[PlanValueChange], *, now: dt.datetime) -> None:
    if not rows:
        return
    for row in rows:
        row.changed_at = now
        if row.plan_value is not None:  # new cells got their pk in _create_values
            row.plan_value_id = row.plan_value.pk
    _insert_rows(PlanValueChange, rows)


def _change(
    cycle: PlanningCycle,
    r: _Resolved,
    pv: PlanValue,
    new: Decimal | None,
    version: int,
    source: str,
    uid: int | None,
    *,
    created: bool = False,
) -> PlanValueChange:
    """History row; built before the write, so ``pv`` still holds the old value."""
    return PlanValueChange(
        cycle=cycle,
        plan_value=pv if new is not None else None,
        value_stream=r.value_stream,
        product_family=r.family,
        month=r.key[2],
        measure=r.key[3],
        old_value=None if created else pv.value,
        new_value=new,
        version=version,
        source=source,
        changed_by_id=uid,
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
