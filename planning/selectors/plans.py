"""Reading cycles and plans, shaped for screens, exports, the API and the engine."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TypeVar

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    CharField,
    Count,
    FloatField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from planning import engine
from planning.calendar import month_add, parse_month
from planning.measures import (
    ACTUALS_HISTORY_MONTHS,
    COMPANY_INPUT_MEASURES,
    FAMILY_INPUT_MEASURES,
    STREAM_INPUT_MEASURES,
)
from planning.models import (
    Actual,
    Company,
    CycleFamily,
    CycleStatus,
    CycleValueStream,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    ScenarioCell,
    cycle_scenario,
)
from sofp.dbfunctions import MonthOrdinal
from sofp.gc_pause import collector_paused
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import (
    AnyUser,
    CompanyRole,
    user_can_edit_company_values,
    user_reads_all_streams,
    user_roles,
)
from valuestreams.selectors import stream_measure_grants, value_streams_visible

T = TypeVar("T")


def cycle_get_by_label(label: str) -> PlanningCycle | None:
    month = parse_month(label)
    if month is None:
        return None
    return PlanningCycle.objects.filter(month=month).first()


def cycle_missing_message(label: str) -> str:
    """Why a cycle address leads nowhere, and where to go instead (the friendly 404)."""
    months = list(PlanningCycle.objects.order_by("month").values_list("month", flat=True))
    if parse_month(label) is None:
        head = f"“{label}” is not a month (cycle addresses are YYYY-MM, e.g. 2027-01)."
    else:
        head = f"There is no planning cycle {label}."
    if not months:
        return f"{head} No cycle has been started yet."
    return f"{head} Cycles run from {months[0]:%Y-%m} to {months[-1]:%Y-%m}."


def cycle_or_404(label: str) -> PlanningCycle:
    """The cycle of ``label``, or a 404 that says which cycles exist."""
    from django.http import Http404

    cycle = cycle_get_by_label(label)
    if cycle is None:
        raise Http404(cycle_missing_message(label))
    return cycle


def cycle_current() -> PlanningCycle | None:
    """The cycle being planned: the newest cycle that is not frozen, else the newest
    approved one. Home, the Plan menu, ``/review/`` and the dashboards start there, so
    after ``start_cycle`` everyone lands on the new cycle, never on a frozen one while
    a newer cycle is open."""
    return (
        PlanningCycle.objects.exclude(status=CycleStatus.APPROVED).order_by("-month").first()
        or PlanningCycle.objects.order_by("-month").first()
    )


def cycle_last_approved(*, before: dt.date) -> PlanningCycle | None:
    """The newest frozen cycle whose month is before ``before`` (the plan to compare with)."""
    return (
        PlanningCycle.objects.filter(status=CycleStatus.APPROVED, month__lt=before)
        .order_by("-month")
        .first()
    )


def cycles_list() -> QuerySet[PlanningCycle]:
    return PlanningCycle.objects.order_by("-month")


def _period(d: dt.date) -> pd.Period:
    return pd.Period(year=d.year, month=d.month, freq="M")


def _month_ordinal(d: dt.date | str) -> int:
    """Months since 1970-01 of a date, or of the ``YYYY-MM-DD`` text SQLite returns to
    :func:`_raw_rows`."""
    if isinstance(d, str):
        return (int(d[:4]) - 1970) * 12 + int(d[5:7]) - 1
    return (d.year - 1970) * 12 + d.month - 1


def _month_index(dates: Iterable[dt.date | str]) -> pd.PeriodIndex:
    """Monthly PeriodIndex of many dates, converting each distinct month once (fast)."""
    codes, uniques = pd.factorize(np.asarray(list(dates), dtype=object))
    ordinals = np.array([_month_ordinal(d) for d in uniques], dtype=np.int64)
    return pd.PeriodIndex.from_ordinals(ordinals.take(codes) if len(codes) else ordinals, freq="M")


def _raw_rows(qs: QuerySet) -> list[tuple]:
    """The rows of a ``values_list`` query straight from the cursor.

    Django's per-value converters (a date and a Decimal per cell) were most of the time
    of reading a large plan; the callers convert whole columns at once instead. Months
    come back as dates (PostgreSQL) or ``YYYY-MM-DD`` text (SQLite): :func:`_month_index`
    takes both.
    """
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # a filter such as ``value_stream__in=[]`` matches nothing
        return []
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_MASTER_NUMBERS = ("unit_price", "unit_material_cost", "hours_per_unit", "dos_min", "dos_max")


def cycle_master_frame(
    *,
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    family: str = "",
) -> pd.DataFrame:
    """The cycle's master data (its own copy) in the engine's column contract: the ONE
    place the projection gets prices, costs, hours, DOS bands and "in the plan" from.

    Families in the plan only; ``value_streams`` limits to those streams (one query).
    Copies are complete: taken at start and approval, and every master write reaches
    the open cycles (``planning.services.cycle_master``).
    """
    stream_ids = None if value_streams is None else [vs.pk for vs in value_streams]
    copies = CycleFamily.objects.filter(cycle=cycle)
    if stream_ids is not None:
        copies = copies.filter(value_stream_id__in=stream_ids)
    scenario = cycle_scenario(cycle)
    if scenario is not None:
        copies = _scenario_copies(copies, scenario)
    # Straight from the cursor, numbers as floats (the engine computes in float64):
    # Django's per-value Decimal converters were most of the cost of this read.
    numbers = [Cast(f, FloatField()) for f in _MASTER_NUMBERS]
    copy_rows = _raw_rows(
        copies.order_by().values_list(
            "active", "value_stream__code", "product_family__code", *numbers
        )
    )
    rows = [r[1:] for r in copy_rows if r[0]]
    if not copy_rows and not CycleFamily.objects.filter(cycle=cycle).exists():
        # No copy at all: a cycle from before copies existed (the migration gives every
        # cycle one, the services keep them complete). Read the live master.
        live = ProductFamily.objects.filter(active=True)
        if stream_ids is not None:
            live = live.filter(value_stream_id__in=stream_ids)
        rows = _raw_rows(live.order_by().values_list("value_stream__code", "code", *numbers))
    rows.sort(key=itemgetter(0, 1))
    if family:  # one family's view (filters on the review and dashboards)
        rows = [r for r in rows if r[1] == family]
    # Built column by column (a frame of rows, then a conversion per column, cost more
    # than reading them); numbers float64, codes str.
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(engine.MASTER_COLUMNS)
    codes = {
        name: pd.Series([str(code) for code in col], dtype=object)
        for name, col in zip(engine.MASTER_COLUMNS[:2], columns[:2], strict=True)
    }
    numbers = {
        name: np.array(col, dtype="float64")
        for name, col in zip(_MASTER_NUMBERS, columns[2:], strict=True)
    }
    return pd.DataFrame({**codes, **numbers}, columns=list(engine.MASTER_COLUMNS))


def _scenario_copies(plan_copies: QuerySet[CycleFamily], scenario) -> QuerySet[CycleFamily]:
    """A scenario's master copy: its own copy of each family, the plan's copy for a
    family added to the master since the scenario was made."""
    own = CycleFamily.all_objects.filter(scenario=scenario)
    plan_only = plan_copies.exclude(
        product_family_id__in=own.values("product_family_id")
    ).values_list("pk", flat=True)
    scenario_rows = own.filter(
        value_stream_id__in=plan_copies.values("value_stream_id")
    ).values_list("pk", flat=True)
    return CycleFamily.all_objects.filter(Q(pk__in=scenario_rows) | Q(pk__in=plan_only))


def cycle_streams(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> dict[str, int | None]:
    """The cycle's value streams in the plan (its copy), code → headcount."""
    stream_ids = None if value_streams is None else [vs.pk for vs in value_streams]
    copies = CycleValueStream.objects.filter(cycle=cycle)
    if stream_ids is not None:
        copies = copies.filter(value_stream_id__in=stream_ids)
    found = {
        code: (active, headcount)
        for code, active, headcount in copies.values_list(
            "value_stream__code", "active", "headcount"
        )
    }
    # A cycle from before copies existed (see cycle_master_frame).
    if not found and not CycleValueStream.objects.filter(cycle=cycle).exists():
        live = ValueStream.objects.all()
        if stream_ids is not None:
            live = live.filter(pk__in=stream_ids)
        for code, active, headcount in live.values_list("code", "active", "headcount"):
            found[code] = (active, headcount)
    return {code: headcount for code, (active, headcount) in sorted(found.items()) if active}


def cycle_values(cycle: PlanningCycle) -> QuerySet:
    """The stored cells of a cycle's plan — or of the scenario it is seen through
    (``PlanningCycle.in_scenario``), tombstones included: every scenario-aware read
    starts here."""
    scenario = cycle_scenario(cycle)
    if scenario is None:
        return PlanValue.objects.filter(cycle=cycle)
    return ScenarioCell.objects.filter(scenario=scenario)


def cycle_value_changes(cycle: PlanningCycle) -> QuerySet[PlanValueChange]:
    """The history of a cycle's plan cells, or of its scenario's (see ``cycle_values``)."""
    return PlanValueChange.all_objects.filter(cycle=cycle, scenario=cycle_scenario(cycle))


def _plan_values_query(
    *,
    cycle: PlanningCycle,
    value_streams: list[ValueStream] | None,
    include_company: bool,
    family: str = "",
) -> QuerySet[PlanValue]:
    qs = cycle_values(cycle).filter(PlanValue.filled)
    if family:
        # One family's rows and the stream and company rows it is planned against.
        qs = qs.filter(Q(product_family__isnull=True) | Q(product_family__code=family))
    if value_streams is not None:
        ids = [vs.pk for vs in value_streams]
        if include_company:
            qs = qs.filter(Q(value_stream_id__in=ids) | Q(value_stream__isnull=True))
        else:
            qs = qs.filter(value_stream_id__in=ids)
    return qs.order_by()


def _values_list(qs: QuerySet[PlanValue]) -> QuerySet:
    """The columns :func:`_values_frame` reads."""
    return qs.values_list(
        "measure",
        Coalesce("value_stream_id", Value(0)),
        Coalesce("product_family_id", Value(0)),
        MonthOrdinal("month"),
        Cast("value", FloatField()),
    )


def _values_sql(qs: QuerySet[PlanValue]) -> tuple[str | None, tuple]:
    """The SQL and parameters of :func:`_values_frame`'s read of ``qs`` (``None``: the
    filter matches nothing): a function of the query's arguments alone (the cycle, the
    streams, the family), so it is kept under them."""
    try:
        sql, params = _values_list(qs).query.sql_with_params()
    except EmptyResultSet:
        return None, ()
    return sql, tuple(params)


def _values_frame(
    qs: QuerySet[PlanValue],
    *,
    compiled: tuple[str | None, tuple] | None = None,
    names: Callable[[str, np.ndarray, np.ndarray], tuple[dict, dict]] | None = None,
) -> pd.DataFrame:
    """Stored values in the file contract's long shape (one query, and one for the codes).

    The database gives numbers only, besides the measure: stream and family ids, months
    as ordinals (:class:`MonthOrdinal`), values as floats (the engine computes in
    float64 on monthly periods anyway). Building a Decimal and a date per cell, joining
    two tables for the codes, hashing a code and parsing a month text per row, and
    ordering by the model's default were most of the time of reading a large plan. The
    columns are built whole: each distinct id becomes its code once, then is repeated
    by position; the collector is held during the read
    (:func:`sofp.gc_pause.collector_paused`).
    Expressions last: :func:`_raw_rows` returns the columns in SQL order.

    ``names``: the caller's ``_code_names`` (kept under a stamp of the codes);
    ``compiled``: :func:`_values_sql` of ``qs``, when the caller kept it.
    """
    with collector_paused():
        if compiled is None:
            rows = _raw_rows(_values_list(qs))
        elif compiled[0] is None:  # a filter that matches nothing (see _raw_rows)
            rows = []
        else:
            with connections[qs.db].cursor() as cursor:
                cursor.execute(*compiled)
                rows = cursor.fetchall()
        n = len(rows)
        measures, streams, families, months, values = zip(*rows, strict=True) if n else ((),) * 5
        del rows  # freed before the collector runs again: nothing left for it to scan
        stream_at, stream_ids = _id_positions(streams)
        family_at, family_ids = _id_positions(families)
        del streams, families
        stream_codes, family_codes = (names or _code_names)(qs.db, stream_ids, family_ids)
        return pd.DataFrame(
            {
                "value_stream": _id_codes(stream_at, stream_ids, stream_codes),
                "product_family": _id_codes(family_at, family_ids, family_codes),
                "month": pd.PeriodIndex.from_ordinals(
                    np.fromiter(months, dtype=np.int64, count=n), freq="M"
                ),
                "measure": pd.Series(measures, dtype=object),
                "value": np.array(values, dtype="float64"),
            }
        )


def _id_positions(ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row's id among the distinct ids, and those ids."""
    return pd.factorize(np.fromiter(ids, dtype=np.int64, count=len(ids)))


# Up to this many ids are asked for by name; more, and every code is read (no long IN).
_CODE_IDS_ASKED = 900


def _code_names(
    db: str, stream_ids: np.ndarray, family_ids: np.ndarray
) -> tuple[dict[int, str], dict[int, str]]:
    """Id → code of these value streams and product families (one query, none when
    there are no ids)."""
    names: tuple[dict[int, str], dict[int, str]] = ({}, {})
    if not len(stream_ids) and not len(family_ids):
        return names
    streams = ValueStream.objects.using(db).order_by()
    families = ProductFamily.objects.using(db).order_by()
    if len(stream_ids) + len(family_ids) <= _CODE_IDS_ASKED:
        streams = streams.filter(pk__in=stream_ids.tolist())
        families = families.filter(pk__in=family_ids.tolist())
    both = streams.values_list(Value(0), "pk", "code").union(
        families.values_list(Value(1), "pk", "code"), all=True
    )
    for table, pk, code in _raw_rows(both):
        names[table][pk] = code
    return names


def _id_codes(positions: np.ndarray, ids: np.ndarray, names: Mapping[int, str]) -> pd.Series:
    """The code of each row's id, each distinct id looked up once: "" for id 0 (none) or
    an id that names no stream or family, as the outer join of the old read gave."""
    if not len(positions):
        return _codes(())
    vocab = np.array([str(names.get(pk, "")) for pk in ids.tolist()], dtype=object)
    return pd.Series(vocab.take(positions), dtype=object)


def plan_values_frame(
    *,
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    include_company: bool = True,
) -> pd.DataFrame:
    """A cycle's stored input values, long, in the file contract's shape."""
    streams = None if value_streams is None else list(value_streams)
    return _values_frame(
        _plan_values_query(cycle=cycle, value_streams=streams, include_company=include_company)
    )


def _codes(codes: Sequence[str | None]) -> pd.Series:
    """A code column; "" where there is none (company or stream rows)."""
    return pd.Series(codes, dtype=object).fillna("").astype(str)


def plan_input(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> engine.PlanInput:
    """Everything the engine needs for one cycle, in a constant number of queries.

    ``value_streams=None`` means the whole company; otherwise only those streams (and
    the company-wide sustaining costs, which the company rows need).
    """
    from planning.selectors.launches import cycle_launch_frames

    streams = None if value_streams is None else list(value_streams)
    return engine.PlanInput(
        start=_period(cycle.month),
        horizon=cycle.horizon,
        master=cycle_master_frame(cycle=cycle, value_streams=streams),
        values=plan_values_frame(cycle=cycle, value_streams=streams),
        value_streams=tuple(cycle_streams(cycle=cycle, value_streams=streams)),
        development_hours=cycle_launch_frames(cycle, streams)[1],
    )


# Results reused while nothing they are computed from has changed: the review and the
# dashboards read two cycles per request, and reading a large plan costs more than the
# engine. Each key holds what its result depends on — fingerprints of the stored values
# it reads, the master data itself, the thresholds — so a hit is what a fresh run would
# give, in every process, whoever wrote meanwhile: the reuse only saves the work.
# Callers read the frames and never change them.
_REUSED_KEPT = 32
_reused: OrderedDict[tuple, object] = OrderedDict()
_reused_lock = threading.Lock()


def _reuse(key: tuple, compute: Callable[[], T]) -> T:
    return _kept_in(_reused, _REUSED_KEPT, key, compute)


def _kept_in(store: OrderedDict, size: int, key: tuple, compute: Callable[[], T]) -> T:
    with _reused_lock:
        if key in store:
            store.move_to_end(key)
            return store[key]  # type: ignore[return-value]
    result = compute()
    with _reused_lock:
        store[key] = result
        while len(store) > size:
            store.popitem(last=False)
    return result


# Small reads kept under a stamp (a master copy, the streams, the launches, SQL text,
# codes, the last approved cycle, the thresholds, the review's steps and decisions):
# their own store, so the many of them (per stream, family and filter) never push a
# projection out of ``_reused``. Keyed as ``_reuse``'s: by what they read.
_INPUTS_KEPT = 128
_inputs: OrderedDict[tuple, object] = OrderedDict()


def _reuse_input(key: tuple, compute: Callable[[], T]) -> T:
    return _kept_in(_inputs, _INPUTS_KEPT, key, compute)


def _reuse_derived(
    name: str, inputs: tuple[object, ...], extra: tuple, compute: Callable[[], T]
) -> T:
    """A result computed only from ``inputs`` — objects :func:`_reuse` hands out
    (projections, accuracy, forecast value added), never changed by their readers — and
    ``extra``: kept while those very objects are the ones reused. Keyed by their
    identities; the entry holds the objects themselves, so an identity cannot pass to
    another object while the entry lives."""
    key = ("derived", name, tuple(id(x) for x in inputs), extra)
    held, result = _reuse(key, lambda: (inputs, compute()))
    if all(a is b for a, b in zip(held, inputs, strict=True)):
        return result
    return compute()  # pragma: no cover - the entry holds its inputs (see above)


def projections_forget() -> None:
    """Drop every reused result (tests that count a cold request's queries), the page
    parts kept under stamps too."""
    from planning.selectors.stamps import parts_forget

    with _reused_lock:
        _reused.clear()
        _inputs.clear()
    parts_forget()


def _values_fingerprint(qs: QuerySet[PlanValue]) -> tuple:
    """Changes with every write to these cells: an insert or delete moves the count, an
    update the version sum and the newest ``updated_at`` (and the value sum catches a
    raw update that touched neither)."""
    row = qs.order_by().aggregate(
        n=Count("pk"), v=Sum("version"), s=Sum("value"), t=Max("updated_at")
    )
    return tuple(row.values())


def _frozen_stamp() -> tuple:
    """What stands for the stored values of approved cycles in a reuse key: approved
    plans are frozen on every path, so which cycles are approved, and when, is enough
    (a small query on the cycles) — no scan of their tens of thousands of values. (One
    approved cycle's own projection needs not even that: see ``_projection``.)"""
    approved = PlanningCycle.objects.filter(status=CycleStatus.APPROVED)
    return ("frozen", *approved.order_by("pk").values_list("pk", "approved_at"))


def _frame_digest(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.blake2b(hashed.tobytes(), digest_size=16).hexdigest()


def _projection(
    cycle: PlanningCycle,
    streams: list[ValueStream] | None,
    family: str = "",
    stamp: tuple | None = None,
) -> tuple[tuple, engine.Projection]:
    """A cycle's projection and the key it is kept under (a few small queries on a hit;
    none for an approved plan).

    With ``family`` the projection holds that one family (its stream's hours and costs
    stay the stream's): the filtered view every figure of a page draws from.

    ``stamp``: the caller's ``selectors.stamps.review_stamp`` of ``cycle`` at this
    moment. It reads the cycle's plan values, its master copy, its streams' copies, the
    launches, the master data and the codes whole, so it keys the projection without
    another read; the master copy, the streams and the launches are read once per
    :func:`~planning.selectors.stamps.rest_of` the stamp (a save leaves them).
    """
    scenario = cycle_scenario(cycle)
    values = _plan_values_query(
        cycle=cycle, value_streams=streams, include_company=True, family=family
    )
    streams_key = None if streams is None else tuple(sorted(vs.pk for vs in streams))
    if cycle.is_frozen and scenario is None:
        # Approved is final and frozen on every path: the plan's cells, its master copy,
        # its streams and its launches never change again, so the approval itself (this
        # cycle, approved then) stands for all of them — nothing to read for the key.
        key = (
            *_projection_key_head(cycle, None, family, values.db, streams_key),
            ("frozen", (cycle.pk, cycle.approved_at)),
        )
        return key, _reuse(key, lambda: _project(cycle, streams, family, values))
    from planning.selectors.launches import cycle_launch_rows, launch_rows_digest

    if stamp is not None and scenario is None and stamp[2] == cycle.pk:
        from planning.selectors.stamps import facts_of, plan_of, rest_of

        rest = rest_of(stamp)

        def inputs() -> tuple[pd.DataFrame, tuple[str, ...], list[tuple], pd.DataFrame | None]:
            from planning.selectors.launches import cycle_launch_frames

            launch_rows = cycle_launch_rows(cycle)
            return (
                cycle_master_frame(cycle=cycle, value_streams=streams, family=family),
                tuple(cycle_streams(cycle=cycle, value_streams=streams)),
                launch_rows,
                # as _project reads them: of the stream as a whole, none in a family's view
                None if family else cycle_launch_frames(cycle, streams, launch_rows)[1],
            )

        master, stream_codes, launch_rows, hours = _reuse_input(
            ("projection_inputs", family, values.db, streams_key, rest), inputs
        )
        key = (
            *_projection_key_head(cycle, None, family, values.db, streams_key),
            ("review_stamp", plan_of(stamp), rest),
        )
        facts = facts_of(stamp)

        def names(db: str, stream_ids: np.ndarray, family_ids: np.ndarray) -> tuple:
            # Every stream's and family's whole row is in the stamp's facts part.
            return _reuse_input(
                (
                    "code_names",
                    db,
                    facts,
                    frozenset(stream_ids.tolist()),
                    frozenset(family_ids.tolist()),
                ),
                lambda: _code_names(db, stream_ids, family_ids),
            )

        def frame(qs: QuerySet[PlanValue]) -> pd.DataFrame:
            compiled = _reuse_input(
                ("values_sql", qs.db, cycle.pk, streams_key, family),
                lambda: _values_sql(qs),
            )
            return _values_frame(qs, compiled=compiled, names=names)

        return key, _reuse(
            key,
            lambda: _project(
                cycle, streams, family, values, master, stream_codes, launch_rows, frame, hours
            ),
        )
    # The cycle's own master copy (Master data belongs to the cycle).
    master = cycle_master_frame(cycle=cycle, value_streams=streams, family=family)
    stream_codes = tuple(cycle_streams(cycle=cycle, value_streams=streams))

    launch_rows = cycle_launch_rows(cycle)  # a scenario works with the plan's launches
    key = (
        *_projection_key_head(
            cycle, None if scenario is None else scenario.pk, family, values.db, streams_key
        ),
        # A scenario's cells change whatever the plan's status: only the plan is frozen.
        _values_fingerprint(values),
        _frame_digest(master),
        stream_codes,
        launch_rows_digest(launch_rows),
    )
    return key, _reuse(
        key, lambda: _project(cycle, streams, family, values, master, stream_codes, launch_rows)
    )


def _projection_key_head(
    cycle: PlanningCycle, scenario_pk: int | None, family: str, db: str, streams_key: tuple | None
) -> tuple:
    """What every projection key starts with (the frozen, stamped and read keys differ only
    in what follows), so that the three never drift apart."""
    return (
        "projection",
        family,
        db,
        cycle.pk,
        scenario_pk,
        cycle.month,
        cycle.horizon,
        streams_key,
    )


def _project(
    cycle: PlanningCycle,
    streams: list[ValueStream] | None,
    family: str,
    values: QuerySet[PlanValue],
    master: pd.DataFrame | None = None,
    stream_codes: tuple[str, ...] | None = None,
    launch_rows: list[tuple] | None = None,
    frame: Callable[[QuerySet[PlanValue]], pd.DataFrame] = _values_frame,
    hours: pd.DataFrame | object | None = ...,
) -> engine.Projection:
    """The engine's run on what ``_projection`` read for its key (read here when the key
    needed none of it)."""
    from planning.selectors.launches import cycle_launch_frames, cycle_launch_rows

    if master is None:
        master = cycle_master_frame(cycle=cycle, value_streams=streams, family=family)
    if stream_codes is None:
        stream_codes = tuple(cycle_streams(cycle=cycle, value_streams=streams))
    if launch_rows is None:
        launch_rows = cycle_launch_rows(cycle)
    # NPD development hours count for the stream as a whole, not one family's view.
    if hours is ...:  # not given by the caller (who read them as here)
        hours = None if family else cycle_launch_frames(cycle, streams, launch_rows)[1]
    return engine.project(
        engine.PlanInput(
            start=_period(cycle.month),
            horizon=cycle.horizon,
            master=master,
            values=frame(values),
            value_streams=stream_codes,
            development_hours=hours,
        )
    )


def cycle_projection(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> engine.Projection:
    """The engine's projection of a cycle's plan (the numbers every screen shows)."""
    return _projection(cycle, None if value_streams is None else list(value_streams))[1]


def company_thresholds() -> engine.Thresholds:
    company = Company.get()
    return engine.Thresholds(
        utilization_warn=float(company.utilization_warn),
        utilization_over=float(company.utilization_over),
        demand_change=float(company.demand_change_threshold),
    )


@dataclass(eq=False)
class CycleAnalysis:
    """Everything step 5 and the dashboards show for one cycle, from one engine."""

    cycle: PlanningCycle
    previous_cycle: PlanningCycle | None
    projection: engine.Projection
    previous: engine.Projection | None
    accuracy: engine.Accuracy
    changes: pd.DataFrame
    exceptions: pd.DataFrame
    thresholds: engine.Thresholds


def _accuracy_queries(
    *,
    cycle: PlanningCycle,
    value_streams: list[ValueStream] | None,
    months_back: int,
    family: str = "",
) -> tuple[QuerySet[PlanValue], QuerySet[Actual]]:
    first = month_add(cycle.month, -months_back)
    months = [month_add(first, i) for i in range(months_back)]
    lag1 = Q()
    for m in months:
        lag1 |= Q(cycle__month=month_add(m, -1), month=m)
    stream_filter = Q()
    if value_streams is not None:
        stream_filter = Q(value_stream__in=value_streams)
    if family:
        stream_filter &= Q(product_family__code=family)
    forecasts = PlanValue.objects.filter(
        PlanValue.filled,
        lag1,
        stream_filter,
        measure="demand",
        cycle__status=CycleStatus.APPROVED,
        # Redundant with lag1, but lets the (measure, month) index do the work.
        month__gte=first,
        month__lt=cycle.month,
    )
    actuals = Actual.objects.filter(
        stream_filter, measure="actual_sales", month__gte=first, month__lt=cycle.month
    )
    return forecasts, actuals


def accuracy_inputs(
    *,
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    months_back: int = ACTUALS_HISTORY_MONTHS,
    family: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lag-1 forecasts and actual sales for the months before ``cycle`` (two queries).

    The forecast for month m is the demand for m in the frozen plan of cycle m−1; the
    actual is the ``actual_sales`` fact of m (kept once, in ``Actual``).
    """
    streams = None if value_streams is None else list(value_streams)
    forecasts_qs, actuals_qs = _accuracy_queries(
        cycle=cycle, value_streams=streams, months_back=months_back, family=family
    )
    return _accuracy_frames(forecasts_qs, actuals_qs)


def _accuracy_frames(
    forecasts_qs: QuerySet[PlanValue], actuals_qs: QuerySet[Actual]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    fields = ("value_stream__code", "product_family__code", Cast("month", CharField()))
    forecast_rows = _raw_rows(
        forecasts_qs.order_by().values_list(*fields, Cast("value", FloatField()))
    )
    actual_rows = _raw_rows(actuals_qs.order_by().values_list(*fields, Cast("value", FloatField())))
    cols = ["value_stream", "product_family", "month"]
    forecasts = pd.DataFrame(forecast_rows, columns=[*cols, "forecast"])
    actuals = pd.DataFrame(actual_rows, columns=[*cols, "actual"])
    for frame, col in ((forecasts, "forecast"), (actuals, "actual")):
        frame["value_stream"] = _codes(frame["value_stream"])
        frame["product_family"] = _codes(frame["product_family"])
        frame["month"] = _month_index(frame["month"])
        frame[col] = frame[col].astype("float64")
    return forecasts, actuals


def cycle_analysis(
    *,
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    family: str = "",
    facts: tuple | None = None,
    stamp: tuple | None = None,
) -> CycleAnalysis:
    """Projection, last approved plan, accuracy, changes and exceptions of a cycle.

    A constant number of queries whatever the number of streams and families; while
    nothing it reads has changed, a handful of small ones (see ``_reuse``). ``facts``:
    the caller's ``selectors.stamps.facts_stamp`` of this moment (or ``facts_of`` its
    review stamp), which keys the accuracy without reading anything more. ``stamp``:
    the caller's ``review_stamp`` of ``cycle`` (its facts' part is ``facts``), which
    keys the projection, the last approved cycle, the thresholds and the launches too
    (see ``_projection``).
    """
    streams = None if value_streams is None else list(value_streams)
    if stamp is not None:
        from planning.selectors.stamps import facts_of

        facts = facts_of(stamp)
    streams_key = None if streams is None else tuple(sorted(vs.pk for vs in streams))
    db = PlanValue.objects.db
    key, projection = _projection(cycle, streams, family, stamp)
    # The facts' stamp reads every cycle (whole rows) and the company whole: the last
    # approved cycle and the thresholds are kept under it (a save leaves both).
    previous_cycle = (
        cycle_last_approved(before=cycle.month)
        if facts is None
        else _reuse_input(
            ("last_approved", db, facts, cycle.month),
            lambda: cycle_last_approved(before=cycle.month),
        )
    )
    previous_key, previous = (
        _projection(previous_cycle, streams, family) if previous_cycle else (None, None)
    )

    def accuracy_queries() -> tuple[QuerySet[PlanValue], QuerySet[Actual]]:
        return _accuracy_queries(
            cycle=cycle, value_streams=streams, months_back=ACTUALS_HISTORY_MONTHS, family=family
        )

    thresholds = (
        company_thresholds()
        if facts is None
        else _reuse_input(("thresholds", db, facts), company_thresholds)
    )
    # Accuracy reads closed months only (frozen forecasts, sales facts): a save in the
    # open plan leaves it as it is, so it is kept on its own.
    if facts is not None:
        # The facts' stamp moves with every fact and every approval (it reads the facts
        # and the cycles whole): a wider key than the two reads below, and no query
        # built unless it misses.
        accuracy_key: tuple = (facts,)
    else:
        _forecasts, actuals_qs = accuracy_queries()
        accuracy_key = (
            _frozen_stamp(),  # the forecasts come from approved (frozen) cycles only
            _values_fingerprint(actuals_qs),
        )
    accuracy = _reuse(
        ("accuracy", db, cycle.month, streams_key, family, *accuracy_key),
        lambda: engine.forecast_accuracy(*_accuracy_frames(*accuracy_queries())),
    )

    def compute() -> tuple[pd.DataFrame, pd.DataFrame]:
        changes = (
            engine.plan_changes(projection, previous)
            if previous is not None
            else pd.DataFrame(columns=list(engine.PLAN_CHANGE_COLUMNS))
        )
        # The launches table and the streams' codes are read whole by the facts' stamp.
        launches = (
            _launches_in_scope(cycle, streams, family)
            if facts is None
            else _reuse_input(
                ("launches_in_scope", db, facts, cycle.pk, streams_key, family),
                lambda: _launches_in_scope(cycle, streams, family),
            )
        )
        exceptions = engine.exceptions(projection, previous, thresholds, launches=launches)
        return changes, exceptions

    # The projections' keys cover the plans, their masters and the cycle's launches.
    changes, exceptions = _reuse(("analysis", key, previous_key, thresholds), compute)
    return CycleAnalysis(
        cycle=cycle,
        previous_cycle=previous_cycle,
        projection=projection,
        previous=previous,
        accuracy=accuracy,
        changes=changes,
        exceptions=exceptions,
        thresholds=thresholds,
    )


def _launches_in_scope(
    cycle: PlanningCycle, streams: list[ValueStream] | None, family: str
) -> pd.DataFrame:
    """The cycle's launches whose new family is in the streams (and family) shown."""
    from planning.selectors.launches import cycle_launch_frames

    launches = cycle_launch_frames(cycle)[0]
    if streams is not None:
        codes = {vs.code for vs in streams}
        launches = launches[launches["value_stream"].isin(codes)]
    if family:
        launches = launches[launches["product_family"] == family]
    return launches


# --------------------------------------------------------------------------- rights


# Which plan inputs each role changes (SOFP.md, "Who changes what"). Planners and
# managers: every input of their streams except prices and costs; sales: demand and
# actual sales of its streams; finance: conversion cost of every stream and the
# company's sustaining cost. Prices and material costs live in the cycle's master copy.
PLANNER_MEASURES: frozenset[str] = frozenset(
    {
        "demand",
        "production",
        "actual_sales",
        "opening_inventory",
        "available_hours",
        "non_productive_hours",
    }
)
SALES_MEASURES: frozenset[str] = frozenset({"demand", "actual_sales"})
FINANCE_STREAM_MEASURES: frozenset[str] = frozenset({"conversion_cost"})
FINANCE_COMPANY_MEASURES: frozenset[str] = frozenset(COMPANY_INPUT_MEASURES)
STREAM_MEASURES: frozenset[str] = frozenset(FAMILY_INPUT_MEASURES + STREAM_INPUT_MEASURES)


@dataclass(frozen=True, eq=False)
class PlanRights:
    """What one user may change in a plan: the one answer to "may edit this
    stream/measure?" for the grid, files, the API, commands and templates.

    Whether the cycle is frozen is asked separately (``PlanningCycle.is_frozen``;
    services refuse through ``cycle_refuse_frozen``): that answer is the same for
    everyone.
    """

    # Measures the user changes in one stream (memberships), and in every stream.
    per_stream: Mapping[int, frozenset[str]] = field(default_factory=dict)
    every_stream: frozenset[str] = frozenset()
    company_measures: frozenset[str] = frozenset()
    everything: bool = False  # system paths: demo data, an operator's command

    def measures(self, *, value_stream_id: int | None) -> frozenset[str]:
        """The input measures the user changes in a stream (None: company-wide values)."""
        if self.everything:
            return FINANCE_COMPANY_MEASURES if value_stream_id is None else STREAM_MEASURES
        if value_stream_id is None:
            return self.company_measures
        return self.every_stream | self.per_stream.get(value_stream_id, frozenset())

    def may_edit(self, *, value_stream_id: int | None, measure: str | None = None) -> bool:
        """``value_stream_id=None`` means the company-wide values (sustaining costs);
        ``measure=None`` asks whether the user changes anything there."""
        measures = self.measures(value_stream_id=value_stream_id)
        return bool(measures) if measure is None else measure in measures

    @property
    def company(self) -> bool:
        return self.everything or bool(self.company_measures)

    @property
    def any(self) -> bool:
        return (
            self.everything
            or self.company
            or bool(self.every_stream)
            or any(self.per_stream.values())
        )


SYSTEM_RIGHTS = PlanRights(everything=True)


def plan_rights(*, user: AnyUser | None) -> PlanRights:
    """The rights table for one user (one query, plus the user's groups once);
    ``user=None`` is a trusted system path.

    Sales is "assigned to value streams" by memberships (any role); sales without a
    membership covers every stream, as the demo's ``sales`` does. Administrators
    change every input (master data and fixes), as before.
    """
    if user is None:
        return SYSTEM_RIGHTS
    if not user.is_authenticated:
        return PlanRights()
    if user.is_superuser:
        return PlanRights(every_stream=STREAM_MEASURES, company_measures=FINANCE_COMPANY_MEASURES)
    roles = user_roles(user)
    finance = CompanyRole.FINANCE in roles
    per_stream, every = stream_measure_grants(
        user=user,
        sales=CompanyRole.SALES in roles,
        planner_measures=PLANNER_MEASURES,
        sales_measures=SALES_MEASURES,
    )
    if finance:
        every |= FINANCE_STREAM_MEASURES
    return PlanRights(
        per_stream=per_stream,
        every_stream=every,
        company_measures=FINANCE_COMPANY_MEASURES if finance else frozenset(),
    )


def user_sees_company_plan(user: AnyUser) -> bool:
    """The company page and its roll-up: those who read every stream or enter
    company-wide values."""
    return user_reads_all_streams(user) or user_can_edit_company_values(user=user)


def user_can_edit_plan(
    *, user: AnyUser | None, value_stream: ValueStream | None, measure: str | None = None
) -> bool:
    """May ``user`` change the plan values of ``value_stream`` (None: company-wide)?"""
    return plan_rights(user=user).may_edit(
        value_stream_id=None if value_stream is None else value_stream.pk, measure=measure
    )


# --------------------------------------------------------------------------- per-user reads


def stream_scope(*, user) -> list[ValueStream] | None:
    """The streams a user's numbers cover: None = the whole company (users who read every
    stream, so company rows are theirs too), else the streams they may see."""

    if user_reads_all_streams(user):
        return None
    return list(value_streams_visible(user=user))


def plan_values_visible(
    *, cycle: PlanningCycle, user, include_cleared: bool = False
) -> QuerySet[PlanValue]:
    """A cycle's stored values the user may read, in file-contract order.

    Company rows (no value stream) only for users who read every stream. Cleared cells
    (tombstones) only with ``include_cleared`` — a sync client asking what changed since
    its last pull must hear of them.
    """

    visible = Q(value_stream__in=value_streams_visible(user=user))
    if user_reads_all_streams(user):
        visible |= Q(value_stream__isnull=True)
    if not include_cleared:
        visible &= PlanValue.filled
    return (
        cycle_values(cycle)
        .filter(visible)
        .select_related("value_stream", "product_family", "updated_by")
        .order_by("value_stream__code", "product_family__code", "month", "measure", "pk")
    )


def plan_value_cell(
    *,
    cycle: PlanningCycle,
    value_stream: str,
    product_family: str,
    month: dt.date,
    measure: str,
) -> PlanValue | None:
    """The stored cell at these codes holding a value (None: empty or cleared)."""
    cell = Q(
        month=month,
        measure=measure,
        value_stream__code=value_stream or None,
        product_family__code=product_family or None,
    )
    if not value_stream:
        cell &= Q(value_stream__isnull=True)
    if not product_family:
        cell &= Q(product_family__isnull=True)
    return (
        cycle_values(cycle)
        .filter(cell, PlanValue.filled)
        .select_related("value_stream", "product_family")
        .first()
    )


def family_stream_codes(*, codes: Iterable[str]) -> dict[str, str]:
    """Family code → its value stream's code, for the families that exist (one query)."""
    return dict(
        ProductFamily.objects.filter(code__in=set(codes)).values_list("code", "value_stream__code")
    )


def stream_headcounts(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> dict:
    """Headcount per stream code, from the cycle's copy."""
    return cycle_streams(cycle=cycle, value_streams=value_streams)


def cycle_box_score(
    *,
    analysis: CycleAnalysis,
    headcount: dict | None = None,
    fva: engine.ForecastValueAdded | None = None,
) -> pd.DataFrame:
    """The engine's box score per value stream and month, then the company (``""``)."""
    return engine.box_score(analysis.projection, analysis.accuracy, headcount, fva)


def cycle_for_api(label: str) -> PlanningCycle | None:
    """A cycle with its steps, their participants and its decisions prefetched."""
    month = parse_month(label)
    if month is None:
        return None
    return (
        PlanningCycle.objects.filter(month=month)
        .select_related("approved_by")
        .prefetch_related("steps__participants", "decisions__owner", "decisions__step")
        .first()
    )


def cycle_export_frame(*, cycle: PlanningCycle, user=None) -> pd.DataFrame:
    """The cycle's long export (inputs and computed measures) as ``user`` may see it.

    ``user=None`` (an operator's command) and company-wide readers get every value
    stream and the company rows; anyone else gets only their visible streams, without
    the company rows (those sum up every stream).
    """

    if user is None or user_reads_all_streams(user):
        return engine.export_frame(cycle_projection(cycle=cycle))
    streams = list(value_streams_visible(user=user))
    frame = engine.export_frame(cycle_projection(cycle=cycle, value_streams=streams))
    return frame[frame["value_stream"] != ""].reset_index(drop=True)


def plan_changes_recent(*, cycle: PlanningCycle, user, limit: int = 25) -> list[dict]:
    """The newest changes to a cycle's plan values the user may read, each with a deep
    link to its cell in the grid (two queries)."""
    from planning.links import grid_cell_url
    from planning.measures import MEASURE_LABELS

    visible = Q(value_stream__in=value_streams_visible(user=user))
    if user_reads_all_streams(user):
        visible |= Q(value_stream__isnull=True)
    changes = (
        PlanValueChange.objects.filter(visible, cycle=cycle)
        .select_related("value_stream", "product_family", "changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )
    rows = []
    for ch in changes:
        vs = ch.value_stream.code if ch.value_stream else ""
        fam = ch.product_family.code if ch.product_family else ""
        month = f"{ch.month:%Y-%m}"
        rows.append(
            {
                "at": ch.changed_at,
                "by": ch.changed_by.username if ch.changed_by else "system",
                "where": " · ".join(x for x in (vs or "Company", fam) if x),
                "measure": MEASURE_LABELS.get(ch.measure, ch.measure),
                "month": month,
                "old": ch.old_value,
                "new": ch.new_value,
                "source": ch.note or ch.get_source_display(),
                "url": grid_cell_url(
                    cycle.label,
                    vs,
                    family=fam,
                    month="" if ch.measure == "opening_inventory" else month,
                    measure=ch.measure,
                ),
            }
        )
    return rows
