"""Writing a whole plan file at once: the column-wise twin of ``plan_values_upsert``.

An import of a large plan (tens or hundreds of thousands of cells) spent most of its
time building and checking one Python object per cell. Here the same rules run over
columns: codes are mapped once, every check of ``_cell_problems`` is one vector test,
the stored cells are read in one query, and the writes and their history go in bulk
(``COPY`` on PostgreSQL).

The rules stay where they are: this path only *detects* that something is wrong. When
any cell breaks any rule, it answers None and the caller runs the cell-by-cell
``plan_values_upsert``, which names every problem by line and column exactly as before
(and writes nothing). A clean file never needs the slow path; a file with a problem is
rejected in the same words whichever path found it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils import timezone

from planning.calendar import month_add
from planning.imports import PlanColumns
from planning.measures import (
    ACTUAL_MEASURES,
    ACTUALS_HISTORY_MONTHS,
    COMPANY,
    FAMILY,
    FIRST_MONTH_ONLY,
    MEASURE_SCOPE,
    STREAM,
    SYSTEM_MEASURES,
)
from planning.models import (
    CycleStatus,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    cycle_scenario,
)
from planning.selectors.actuals import current_month
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.plans import _raw_rows, plan_rights
from planning.services.plan_values import (
    _CELL_FIELDS,
    _CHANGE_FIELDS,
    MAX_VALUE,
    VALUE_QUANTUM,
    CellChange,
    UpsertResult,
    _Adapt,
    _copy,
    _CreatedMeanwhile,
    _cycle_locked,
    _insert,
    _locks_alone,
    _table,
    _update_cells,
)
from sofp.gc_pause import collector_paused
from valuestreams.models import ProductFamily, ValueStream


def _ordinal(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _value_converter():
    """The backend's own conversion of a stored ``value`` (SQLite keeps floats: Django
    turns them into Decimals with 15 digits, then quantizes), so stored and new values
    compare exactly as the cell-by-cell path compares them."""
    field = PlanValue._meta.get_field("value")
    col = field.get_col(PlanValue._meta.db_table)
    converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)

    def convert(value: object) -> Decimal | None:
        for conv in converters:
            value = conv(value, col, connection)
        return value  # type: ignore[return-value]

    return convert


def _lookup(codes: pd.Series, table: dict[str, tuple]) -> pd.DataFrame:
    """Per code: the row of ``table`` (pk, active[, stream pk]) or NaN."""
    out = np.full((len(codes), 3), None, dtype=object)
    if table:
        pos = pd.Index(list(table), dtype=object).get_indexer(codes.to_numpy(dtype=object))
        rows = np.empty((len(table), 3), dtype=object)
        for j, row in enumerate(table.values()):
            rows[j, : len(row)] = row
        found = pos >= 0
        out[found] = rows[pos[found]]
    return pd.DataFrame(out)


def plan_columns_upsert(
    *,
    cycle: PlanningCycle,
    columns: PlanColumns,
    user: AbstractBaseUser | None,
    source: str = PlanValueChange.Source.IMPORT,
    dry_run: bool = False,
    preview: int = 500,
) -> UpsertResult | None:
    """Validate and write a file's cells in bulk, all or nothing; None when any cell
    breaks a rule (the caller then runs ``plan_values_upsert`` for the exact problems).

    Raises FrozenCycleError as ``plan_values_upsert`` does. ``result.changes`` holds the
    first ``preview`` changed cells in the preview's order (stream, family, measure,
    month); ``result.stored`` is not filled (a file has no per-cell answer).
    """
    if cycle_scenario(cycle) is not None:
        return None  # a scenario's cells live in their own table: the cell-by-cell path
    with collector_paused(), transaction.atomic():
        locked = _cycle_locked(cycle)
        cycle_refuse_frozen(locked)
        last_actual = None if user is None else current_month()
        checked = _check(locked, columns, user=user, source=source, last_actual=last_actual)
        if checked is None:
            transaction.set_rollback(True)
            return None
        try:
            return _write(
                locked, checked, user=user, source=source, dry_run=dry_run, preview=preview
            )
        except IntegrityError as exc:  # a concurrent writer created the same cell first
            raise _CreatedMeanwhile(versioned=False) from exc


def _check(
    cycle: PlanningCycle,
    columns: PlanColumns,
    *,
    user: AbstractBaseUser | None,
    source: str,
    last_actual: dt.date | None,
) -> pd.DataFrame | None:
    """The cells with their stream and family ids, or None when any rule is broken."""
    ordinal = {m: _ordinal(m) for m in set(columns.month)}
    frame = pd.DataFrame(
        {
            "vs": pd.Series(columns.value_stream, dtype=object),
            "pf": pd.Series(columns.product_family, dtype=object),
            "measure": pd.Series(columns.measure, dtype=object),
            "month": np.array([ordinal[m] for m in columns.month], dtype=np.int64),
        }
    )
    measure = frame["measure"]
    scope = measure.map(MEASURE_SCOPE)
    if scope.isna().any():
        return None
    if source != PlanValueChange.Source.BASELINE and measure.isin(SYSTEM_MEASURES).any():
        return None
    has_vs, has_pf = frame["vs"] != "", frame["pf"] != ""
    streams = {
        code: (pk, active)
        for pk, code, active in ValueStream.objects.filter(
            code__in=set(frame["vs"][has_vs])
        ).values_list("pk", "code", "active")
    }
    families = {
        code: (pk, active, vs_id)
        for pk, code, active, vs_id in ProductFamily.objects.filter(
            code__in=set(frame["pf"][has_pf])
        ).values_list("pk", "code", "active", "value_stream_id")
    }
    vs = _lookup(frame["vs"], streams)
    pf = _lookup(frame["pf"], families)
    vs_known, pf_known = vs[0].notna(), pf[0].notna()
    if (has_vs & ~vs_known).any() or (has_pf & ~pf_known).any():
        return None  # unknown codes
    is_family, is_stream, is_company = scope == FAMILY, scope == STREAM, scope == COMPANY
    if (
        (is_family & ~has_pf).any()
        or ((is_family | is_stream) & ~has_vs).any()
        or (is_stream & has_pf).any()
        or (is_company & (has_vs | has_pf)).any()
    ):
        return None  # scope
    both = vs_known & pf_known
    if (both & (pf[2] != vs[0])).any():
        return None  # a family of another stream
    if (vs_known & (vs[1] == False)).any() or (pf_known & (pf[1] == False)).any():  # noqa: E712
        return None  # inactive
    first, month = _ordinal(cycle.month), frame["month"].to_numpy()
    last = _ordinal(month_add(cycle.month, cycle.horizon - 1))
    low = np.where(measure.to_numpy() == "actual_sales", first - ACTUALS_HISTORY_MONTHS, first)
    only_first = measure.isin(FIRST_MONTH_ONLY).to_numpy()
    accepted = np.where(only_first, month == first, (low <= month) & (month <= last))
    if not accepted.all():
        return None  # outside the horizon, or not the first month
    if last_actual is not None:
        actual = measure.isin(ACTUAL_MEASURES).to_numpy()
        if (actual & (month > _ordinal(last_actual))).any():
            return None  # actuals of months that have not started
    values = columns.value
    distinct = {v for v in values if v is not None}  # files repeat their numbers
    for v in distinct:
        if not v.is_finite() or v < 0 or abs(v) >= MAX_VALUE:
            return None
    quantized = {v: v.quantize(VALUE_QUANTUM) for v in distinct}
    quantized[None] = None
    frame["vs_id"] = vs[0].where(vs_known, None)
    frame["pf_id"] = pf[0].where(pf_known, None)
    vs_ids = pd.Series([x or 0 for x in frame["vs_id"].tolist()], dtype=np.int64)
    pf_ids = pd.Series([x or 0 for x in frame["pf_id"].tolist()], dtype=np.int64)
    if (
        pd.DataFrame({"v": vs_ids, "p": pf_ids, "m": frame["month"], "x": measure})
        .duplicated()
        .any()
    ):
        return None  # duplicates
    rights = plan_rights(user=user)
    for stream_id, m in set(zip(frame["vs_id"], measure, strict=True)):
        if not rights.may_edit(value_stream_id=stream_id, measure=m):
            return None
    frame["vs_key"], frame["pf_key"] = vs_ids, pf_ids
    frame["value"] = pd.Series([quantized[v] for v in values], dtype=object)
    return frame


def _write(
    cycle: PlanningCycle,
    frame: pd.DataFrame,
    *,
    user: AbstractBaseUser | None,
    source: str,
    dry_run: bool,
    preview: int,
) -> UpsertResult:
    adapt = _Adapt()
    ordinals = frame["month"].tolist()
    # ISO text: how both databases give a month cast to text, and take it back.
    month_text = {m: dt.date(m // 12, m % 12 + 1, 1).isoformat() for m in set(ordinals)}
    # Cells are keyed by (stream id or 0, family id or 0, month as the database writes
    # it, measure): plain Python values, no NumPy scalar per cell.
    keys = list(
        zip(
            frame["vs_key"].tolist(),
            frame["pf_key"].tolist(),
            [month_text[m] for m in ordinals],
            frame["measure"].tolist(),
            strict=True,
        )
    )
    values = frame["value"].tolist()
    text = _numbers_as_text(values)
    existing = _existing(cycle, frame, month_text)
    convert = _value_converter() if existing else None
    n = len(frame)
    # outcome per cell: 0 unchanged, 1 added, 2 changed, 3 cleared (deleted)
    outcome = np.zeros(n, dtype=np.int8)
    old: list[Decimal | None] = [None] * n
    version = [1] * n
    pk: list[int | None] = [None] * n
    to_create: list[int] = []
    to_update: list[tuple[int, str | None, int]] = []
    get = existing.get
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        current = get(key)
        if current is None:
            if value is not None:
                outcome[i] = 1
                to_create.append(i)
            continue
        cpk, raw, cversion = current
        stored = None if raw is None else convert(raw)
        pk[i] = cpk
        if value is None:
            if stored is not None:
                outcome[i], old[i], version[i] = 3, stored, cversion + 1
                to_update.append((cpk, None, cversion + 1))
        elif stored is None:  # written again after a clear: added, the version goes on
            outcome[i], version[i] = 1, cversion + 1
            to_update.append((cpk, text[value], cversion + 1))
        elif stored != value:
            outcome[i], old[i], version[i] = 2, stored, cversion + 1
            to_update.append((cpk, text[value], cversion + 1))
    result = _result(frame, outcome, old, preview)
    if dry_run:
        transaction.set_rollback(True)
        return result
    now = timezone.now()
    uid = getattr(user, "pk", None)
    stamp = adapt.datetime(now)
    if not isinstance(stamp, str):  # PostgreSQL: converted once, not once per row
        stamp = stamp.isoformat()
    cycle_id = cycle.pk
    vs_ids, pf_ids = frame["vs_id"].tolist(), frame["pf_id"].tolist()
    if to_create:
        # New cells in key order, as the cell-by-cell path writes them (two writers
        # creating the same cells queue up instead of deadlocking): streams and
        # families by id with the company's and streams' own rows last, then month
        # and measure.
        rows = np.asarray(to_create)
        vs_key, pf_key = frame["vs_key"].to_numpy()[rows], frame["pf_key"].to_numpy()[rows]
        measure_rank = np.unique(
            frame["measure"].to_numpy()[rows].astype(str), return_inverse=True
        )[1]
        order = np.lexsort(
            (
                measure_rank,
                frame["month"].to_numpy()[rows],
                pf_key,
                pf_key == 0,
                vs_key,
                vs_key == 0,
            )
        )
        to_create = rows[order].tolist()
    if to_create:
        _create_cells(
            cycle_id,
            [
                (
                    cycle_id,
                    vs_ids[i],
                    pf_ids[i],
                    keys[i][2],
                    keys[i][3],
                    text[values[i]],
                    1,
                    "",
                    uid,
                    stamp,
                )
                for i in to_create
            ],
            source=source,
        )
    _update_cells(to_update, uid=uid, now=now)
    # The new cells' history is written with them; the rest is written here.
    updated = outcome.copy()
    updated[to_create] = 0
    changed = np.flatnonzero(updated > 0).tolist()
    _insert(
        PlanValueChange,
        _CHANGE_FIELDS,
        [
            (
                cycle_id,
                pk[i],
                vs_ids[i],
                pf_ids[i],
                keys[i][2],
                keys[i][3],
                None if old[i] is None else str(old[i]),
                text[values[i]],
                version[i],
                source,
                uid,
                stamp,
                None,  # scenario: the plan's own cells only (scenarios go cell by cell)
                "",  # note
            )
            for i in changed
        ],
    )
    _actual_sales_mirror(frame, cycle_id=cycle.pk, source=source)
    if cycle.status == CycleStatus.DRAFT and _locks_alone(cycle) and changed:
        PlanningCycle.objects.filter(pk=cycle.pk).update(updated_at=now)
    return result


def _numbers_as_text(values: list[Decimal | None]) -> dict[Decimal | None, str | None]:
    """Each distinct number of a file once as text, the form both databases take it in
    (SQLite's adapter for a Decimal is ``str``; PostgreSQL's COPY parses text): the
    driver would otherwise convert a Decimal again for every row that repeats it."""
    text: dict[Decimal | None, str | None] = {v: str(v) for v in set(values) if v is not None}
    text[None] = None
    return text


def _create_cells(cycle_id: int, rows: list[tuple], *, source: str) -> None:
    """INSERT the new cells (``_CELL_FIELDS`` tuples, in key order) and their history
    in bulk, without reading their ids back into Python.

    PostgreSQL: COPY into a scratch table, then one statement inserts the cells
    (``ON CONFLICT DO NOTHING``) and, from what it returns, their history; a cell that
    a concurrent writer created first makes it an IntegrityError, as a plain INSERT
    would. SQLite writes one transaction at a time: the cells past the largest id
    before the insert are the ones it made, and their history is copied from them.
    """
    if connection.vendor == "postgresql":
        _create_cells_pg(rows, source=source)
        return
    table = connection.ops.quote_name(PlanValue._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        (after,) = cursor.fetchone()  # AUTOINCREMENT: an id is never handed out twice
    _insert(PlanValue, _CELL_FIELDS, rows)
    pk = connection.ops.quote_name(PlanValue._meta.pk.column)
    cycle = connection.ops.quote_name(PlanValue._meta.get_field("cycle").column)
    _history_from_cells(
        f"SELECT * FROM {table} WHERE {cycle} = %s AND {pk} > %s", [cycle_id, after], source=source
    )


def _history_from_cells(cells_sql: str, params: list, *, source: str, prefix: str = "") -> int:
    """INSERT the history of the new cells that ``cells_sql`` selects (rows of the cell
    table; ``prefix``: a ``WITH`` clause it reads, without parameters): no old value,
    the new one, version 1, who and when as the cell says. Returns the rows written."""
    qn = connection.ops.quote_name
    history, columns = _table(PlanValueChange, _CHANGE_FIELDS)
    _, (cycle, vs, pf, month, measure, value, version, by, at) = _table(
        PlanValue, (*PlanValue.KEY_FIELDS, "value", "version", "updated_by", "updated_at")
    )
    pk = qn(PlanValue._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{prefix}INSERT INTO {history} ({', '.join(columns)}) SELECT {cycle}, {pk}, "
            f"{vs}, {pf}, {month}, {measure}, NULL, {value}, {version}, %s, {by}, {at}, "
            f"NULL, '' FROM ({cells_sql}) AS new ORDER BY {pk}",
            [source, *params],
        )
        return cursor.rowcount


_NEW_CELLS = "sofp_new_cells"


def _create_cells_pg(rows: list[tuple], *, source: str) -> None:
    cells, columns = _table(PlanValue, _CELL_FIELDS)
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        # The scratch table has the cells' column types and no index or constraint;
        # its rows go at commit (and are deleted below for a caller that goes on).
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_NEW_CELLS} ON COMMIT DELETE ROWS AS "
            f"SELECT {listed}, 0 AS ord FROM {cells} WITH NO DATA"
        )
        _copy(_NEW_CELLS, [*columns, "ord"], [(*row, i) for i, row in enumerate(rows)])
        made = _history_from_cells(
            "SELECT * FROM made",
            [],
            source=source,
            prefix=(
                f"WITH made AS (INSERT INTO {cells} ({listed}) SELECT {listed} FROM "
                f"{_NEW_CELLS} ORDER BY ord ON CONFLICT DO NOTHING RETURNING *) "
            ),
        )
        cursor.execute(f"DELETE FROM {_NEW_CELLS}")
    if made != len(rows):
        raise IntegrityError("a cell of the file was created meanwhile")


def _existing(cycle: PlanningCycle, frame: pd.DataFrame, month_text: dict) -> dict[tuple, tuple]:
    """``(stream id or 0, family id or 0, month text, measure) → (pk, raw value,
    version)`` of the stored cells the file addresses, locked for the write in id
    order (one query, read straight from the cursor)."""
    stream_ids = {int(s) for s in frame["vs_key"].unique()}
    family_ids = {int(f) for f in frame["pf_key"].unique()}
    stream_scope = Q(value_stream_id__in=stream_ids - {0})
    if 0 in stream_ids:
        stream_scope |= Q(value_stream__isnull=True)
    family_scope = Q(product_family_id__in=family_ids - {0})
    if 0 in family_ids:
        family_scope |= Q(product_family__isnull=True)
    qs = (
        PlanValue.objects.select_for_update(of=("self",))
        .filter(
            stream_scope,
            family_scope,
            cycle=cycle,
            month__in=[dt.date(m // 12, m % 12 + 1, 1) for m in sorted(month_text)],
            measure__in=set(frame["measure"].unique()),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "value_stream_id",
            "product_family_id",
            Cast("month", CharField()),
            "measure",
            "value",
            "version",
        )
    )
    return {(vs or 0, pf or 0, mt, m): (p, v, n) for p, vs, pf, mt, m, v, n in _raw_rows(qs)}


_OUTCOMES = ("unchanged", "added", "changed", "deleted")


def _result(frame: pd.DataFrame, outcome: np.ndarray, old: list, preview: int) -> UpsertResult:
    counts = np.bincount(outcome, minlength=4)
    result = UpsertResult(
        added=int(counts[1]),
        changed=int(counts[2]),
        unchanged=int(counts[0]),
        deleted=int(counts[3]),
    )
    tally = pd.DataFrame({"vs": frame["vs"], "o": outcome}).groupby(["vs", "o"], sort=True).size()
    for (code, o), count in tally.items():
        by = result.by_stream.setdefault(
            code, {k: 0 for k in ("added", "changed", "unchanged", "deleted")}
        )
        by[_OUTCOMES[o]] = int(count)
    changed = frame.loc[outcome > 0, ["vs", "pf", "measure", "month"]]
    if len(changed):
        first = changed.sort_values(["vs", "pf", "measure", "month"], kind="stable").index[:preview]
        values = frame["value"]
        result.changes = [
            CellChange(
                frame.at[i, "vs"],
                frame.at[i, "pf"],
                dt.date(int(frame.at[i, "month"]) // 12, int(frame.at[i, "month"]) % 12 + 1, 1),
                frame.at[i, "measure"],
                old[i],
                values[i],
            )
            for i in first
        ]
    return result


def _actual_sales_mirror(frame: pd.DataFrame, *, cycle_id: int, source: str) -> None:
    """Actual sales in a plan file are facts too (as ``plan_values_upsert`` mirrors
    them), and reach the other open cycles from the store."""
    rows = frame[(frame["measure"] == "actual_sales") & (frame["vs"] != "") & (frame["pf"] != "")]
    if not len(rows):
        return
    from planning.services.actuals import ActualInput, actuals_upsert

    cells = [
        ActualInput(vs, pf, dt.date(int(m) // 12, int(m) % 12 + 1, 1), "actual_sales", v)
        for vs, pf, m, v in zip(rows["vs"], rows["pf"], rows["month"], rows["value"], strict=True)
    ]
    actuals_upsert(
        cells=cells, user=None, source=str(source), any_month=True, through_cycle=cycle_id
    )
