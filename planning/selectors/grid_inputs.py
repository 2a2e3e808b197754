"""The grid's reads of one value stream's open plan, with their SQL compiled once.

A grid save answers with the stream's recomputed rows, so every save reads the stream's
engine inputs (master copy, values, streams, launches) and its stored cells again. On a
small stream Django building each query's SQL (filters, joins, expressions) cost more
than the database answering it, and the projection's reuse key read the same tables
once more for a result that is new after every save. Here each read is the ORM query
of :mod:`planning.selectors.plans` and :mod:`planning.selectors.grid`, compiled once
per process and database with placeholder ids, then run with the request's ids: the
same SQL, the same rows. Nothing is kept between requests but the SQL text, so every
answer is computed from what the database holds now.

Only an open plan of one stream takes this path; a scenario, an approved cycle (its
projection is reused under its approval alone), the company grid and a cycle from before
master copies existed go through :func:`planning.selectors.plans.cycle_projection`.
"""

from __future__ import annotations

import datetime as dt
import json
from operator import itemgetter

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import FloatField, Q, QuerySet, TextField
from django.db.models.functions import Cast

from planning import engine
from planning.models import (
    ActualChange,
    Company,
    CycleFamily,
    CycleStatus,
    CycleValueStream,
    EmptyCellComment,
    Launch,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    cycle_scenario,
)
from planning.selectors.actuals import ACTUAL_CELL_FIELDS, stream_family_facts
from planning.selectors.launches import _LAUNCH_ROW_FIELDS, development_hours_frame
from sofp.dbfunctions import MonthOrdinal
from sofp.prepared import PreparedFirst, PreparedQuery
from valuestreams.models import ProductFamily, ValueStream

# Values no row holds (ids are positive, months are this century's): compiled into a
# query's parameters, each then replaced by the request's value at its positions.
_CYCLE = -917_000_001
_STREAM = -917_000_002
_CODE = "\x00placeholder code"
_USER = -917_000_003
_FIRST = dt.date(1111, 1, 1)
_LAST = dt.date(1111, 2, 1)
_MASTER_NUMBERS = ("unit_price", "unit_material_cost", "hours_per_unit", "dos_min", "dos_max")


def _float(field: str) -> Cast:
    return Cast(field, FloatField())


_IDS = {"cycle_id": _CYCLE, "stream_id": _STREAM}
_MASTER = PreparedQuery(
    lambda cycle_id, stream_id: (
        CycleFamily.objects.filter(cycle_id=cycle_id, value_stream_id__in=[stream_id])
        .order_by()
        .values_list(
            "active",
            "value_stream__code",
            "product_family__code",
            *(_float(f) for f in _MASTER_NUMBERS),
        )
    ),
    **_IDS,
)
_VALUES = PreparedQuery(
    lambda cycle_id, stream_id: (
        PlanValue.objects.filter(PlanValue.filled, cycle_id=cycle_id)
        .filter(Q(value_stream_id__in=[stream_id]) | Q(value_stream__isnull=True))
        .order_by()
        .values_list(
            "measure",
            "value_stream__code",
            "product_family__code",
            MonthOrdinal("month"),
            _float("value"),
        )
    ),
    **_IDS,
)
_STREAMS = PreparedQuery(
    lambda cycle_id, stream_id: (
        CycleValueStream.objects.filter(cycle_id=cycle_id, value_stream_id__in=[stream_id])
        .order_by()
        .values_list("value_stream__code", "active", "headcount")
    ),
    **_IDS,
)
_LAUNCHES = PreparedQuery(
    lambda cycle_id: (
        Launch.objects.filter(cycle_id=cycle_id)
        .order_by("product_family__code")
        .values_list(*_LAUNCH_ROW_FIELDS)
    ),
    cycle_id=_CYCLE,
)
# The stream's family facts of the grid's months (``actuals.grid_actuals``' rows).
_FACTS = PreparedQuery(
    lambda stream_id, first, last: (
        stream_family_facts(value_stream_id=stream_id, first=first, last=last)
        # Expressions last: the cursor gives the columns in SQL order (fields first).
        .values_list("product_family__code", "measure", MonthOrdinal("month"), _float("value"))
    ),
    stream_id=_STREAM,
    first=_FIRST,
    last=_LAST,
)


def fast_path(cycle: PlanningCycle, value_stream: ValueStream | None) -> bool:
    """Whether this grid's reads take this module's path (an open plan of one stream)."""
    return value_stream is not None and not cycle.is_frozen and cycle_scenario(cycle) is None


def _objects(items: list) -> np.ndarray:
    """An object array of ``items`` (a frame built from arrays, not Series, costs a
    fifth: on a stream of a few families building frames cost more than the engine)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _master_frame(rows: list[tuple]) -> pd.DataFrame:
    """``cycle_master_frame``'s frame of the copies read (active ones, sorted)."""
    rows = sorted((r[1:] for r in rows if r[0]), key=itemgetter(0, 1))
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(engine.MASTER_COLUMNS)
    frame: dict[str, np.ndarray] = {}
    for name, col in zip(engine.MASTER_COLUMNS[:2], columns[:2], strict=True):
        frame[name] = _objects([str(code) for code in col])
    numbers = dict(zip(_MASTER_NUMBERS, columns[2:], strict=True))
    for name in engine.MASTER_COLUMNS[2:]:
        frame[name] = np.array(numbers[name], dtype="float64")
    return pd.DataFrame(frame, copy=False)


def _values_frame(rows: list[tuple]) -> pd.DataFrame:
    """``plan_values_frame``'s long frame of the values read ("" where no code)."""
    n = len(rows)
    measures, streams, families, months, values = zip(*rows, strict=True) if n else ((),) * 5
    return pd.DataFrame(
        {
            "value_stream": _objects([c or "" for c in streams]),
            "product_family": _objects([c or "" for c in families]),
            "month": pd.PeriodIndex.from_ordinals(
                np.fromiter(months, dtype=np.int64, count=n), freq="M"
            ),
            "measure": _objects(list(measures)),
            "value": np.array(values, dtype="float64"),
        },
        copy=False,
    )


def _launch_row(row: tuple) -> tuple:
    """A launch row as the ORM gives it: months as dates, development hours decoded
    (the cursor gives JSON as text, and SQLite dates as text)."""
    npd, receiving, family, status, planned, committed, actual, hours, version = row
    if isinstance(hours, str):
        hours = json.loads(hours)
    return (
        npd,
        receiving,
        family,
        status,
        month_from_db(planned),
        None if committed is None else month_from_db(committed),
        None if actual is None else month_from_db(actual),
        hours,
        version,
    )


def stream_plan_input(
    *, cycle: PlanningCycle, value_stream: ValueStream
) -> engine.PlanInput | None:
    """What ``plans.plan_input(cycle=, value_streams=[value_stream])`` gives, read now
    (four queries, their SQL built once); None when the stream has no master copy in
    this cycle (a cycle from before copies: the caller takes the general path)."""
    read = stream_plan_read(cycle=cycle, value_stream=value_stream)
    return None if read is None else read[0]


def stream_plan_read(
    *, cycle: PlanningCycle, value_stream: ValueStream
) -> tuple[engine.PlanInput, list[tuple]] | None:
    """:func:`stream_plan_input` and the rows its values were built from: ``(measure,
    stream code, family code, month ordinal, value as float)`` (the grid reads the
    stream's inputs from them rather than back from the frame)."""
    ids = {"cycle_id": cycle.pk, "stream_id": value_stream.pk}
    master_rows = _MASTER.rows(**ids)
    stream_rows = _STREAMS.rows(**ids)
    if not master_rows or not stream_rows:
        return None
    launch_rows = [_launch_row(r) for r in _LAUNCHES.rows(cycle_id=cycle.pk)]
    streams = {code: headcount for code, active, headcount in sorted(stream_rows) if active}
    value_rows = _VALUES.rows(**ids)
    plan = engine.PlanInput(
        start=pd.Period(year=cycle.month.year, month=cycle.month.month, freq="M"),
        horizon=cycle.horizon,
        master=_master_frame(master_rows),
        values=_values_frame(value_rows),
        value_streams=tuple(streams),
        development_hours=development_hours_frame(launch_rows, [value_stream]),
    )
    return plan, value_rows


def stream_projection(*, cycle: PlanningCycle, value_stream: ValueStream) -> engine.Projection:
    """The engine's projection of one stream's open plan, as
    ``cycle_projection(cycle=, value_streams=[value_stream])`` gives it."""
    plan = (
        stream_plan_input(cycle=cycle, value_stream=value_stream)
        if fast_path(cycle, value_stream)
        else None
    )
    if plan is None:
        from planning.selectors.plans import cycle_projection

        return cycle_projection(cycle=cycle, value_streams=[value_stream])
    return engine.project(plan)


def month_from_db(value: dt.date | str) -> dt.date:
    """A month as the database returns it (a date, or ``YYYY-MM-DD`` text on SQLite)."""
    if isinstance(value, str):
        return dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    return value


def stream_facts(
    *, value_stream: ValueStream, first: dt.date, last: dt.date
) -> list[tuple[str, str, int, float]]:
    """(family, measure, month ordinal, value as float) of the stream's family facts
    from ``first`` to ``last``: the rows of ``actuals.grid_actuals``, the numbers only."""
    return _FACTS.rows(stream_id=value_stream.pk, first=first, last=last)


# The columns of a stored grid cell, in ``grid._Stored``'s order.
STORED_CELL_FIELDS = (
    "product_family__code",
    "month",
    "measure",
    "value",
    "version",
    "comment",
    "updated_by__username",
    "updated_at",
)
# The grid's cells of a stream, as ``grid._stored_values`` and ``actuals.grid_actuals``
# read them (the ORM's conversions applied), its comments on empty cells and its families.
_CELLS = PreparedQuery(
    lambda cycle_id, stream_id: (
        PlanValue.objects.filter(cycle_id=cycle_id, value_stream_id=stream_id)
        .order_by()
        .values_list(*STORED_CELL_FIELDS)
    ),
    convert=True,
    **_IDS,
)
_FACT_CELLS = PreparedQuery(
    lambda stream_id, first, last: stream_family_facts(
        value_stream_id=stream_id, first=first, last=last
    ).values_list(*ACTUAL_CELL_FIELDS),
    convert=True,
    stream_id=_STREAM,
    first=_FIRST,
    last=_LAST,
)
_EMPTY_NOTES = PreparedQuery(
    lambda cycle_id, stream_id: EmptyCellComment.objects.filter(
        cycle_id=cycle_id, value_stream_id=stream_id
    ).values_list("product_family__code", "month", "measure", "text"),
    convert=True,
    **_IDS,
)
_FAMILIES = PreparedQuery(
    lambda cycle_id, stream_id: (
        ProductFamily.objects.filter(
            pk__in=CycleFamily.objects.filter(
                cycle_id=cycle_id, value_stream_id=stream_id, active=True
            ).values("product_family_id")
        )
        .order_by("code")
        .values_list("code", "name")
    ),
    **_IDS,
)


# PostgreSQL: the same cells with ``updated_at`` as the text the server sends for it.
# A grid's cells share a few moments (each save stamps its cells alike), and parsing a
# timestamp in psycopg's Python loader cost more than the rest of the read: each
# distinct text is loaded once, by the very loader the cursor would have used.
_CELLS_STAMP_TEXT = PreparedQuery(
    lambda cycle_id, stream_id: (
        PlanValue.objects.filter(cycle_id=cycle_id, value_stream_id=stream_id)
        .order_by()
        .values_list(*STORED_CELL_FIELDS[:-1], Cast("updated_at", TextField()))
    ),
    convert=True,
    **_IDS,
)


def stream_cells(*, cycle: PlanningCycle, value_stream: ValueStream) -> list[tuple]:
    """The plan's stored cells of one stream (tombstones included): ``(family code,
    month, measure, value, version, comment, username, updated_at)``."""
    if connection.vendor != "postgresql":
        return _CELLS.rows(cycle_id=cycle.pk, stream_id=value_stream.pk)
    rows = _CELLS_STAMP_TEXT.rows(cycle_id=cycle.pk, stream_id=value_stream.pk)
    load = _timestamptz_loader()
    moments: dict[str, dt.datetime] = {}
    out = []
    for *cell, text in rows:
        at = moments.get(text)
        if at is None and text is not None:
            at = moments[text] = load(text.encode())
        out.append((*cell, at))
    return out


def _timestamptz_loader():
    """The text loader a cursor of this connection applies to a ``timestamptz`` column
    (Django's, in the connection's time zone)."""
    from psycopg import adapters
    from psycopg.pq import Format

    oid = adapters.types["timestamptz"].oid
    with connection.cursor() as cursor:
        context = cursor.cursor
        return context.adapters.get_loader(oid, Format.TEXT)(oid, context).load


def stream_fact_cells(*, value_stream: ValueStream, first: dt.date, last: dt.date) -> list[tuple]:
    """``actuals.grid_actuals``' rows: ``(family code, month, measure, value, version,
    username, updated_at)``."""
    return _FACT_CELLS.rows(stream_id=value_stream.pk, first=first, last=last)


def stream_empty_notes(*, cycle: PlanningCycle, value_stream: ValueStream) -> list[tuple]:
    """Comments on the stream's empty cells: ``(family code, month, measure, text)``."""
    return _EMPTY_NOTES.rows(cycle_id=cycle.pk, stream_id=value_stream.pk)


def stream_families(*, cycle: PlanningCycle, value_stream: ValueStream) -> list[tuple[str, str]]:
    """(code, name) of the families the cycle plans in the stream, by code; empty when
    its copy has none (then ``cycle_stream_families`` decides)."""
    return _FAMILIES.rows(cycle_id=cycle.pk, stream_id=value_stream.pk)


_CYCLE_OF_MONTH = PreparedFirst(
    PlanningCycle, lambda month: PlanningCycle.objects.filter(month=month), month=_FIRST
)
_LAST_APPROVED = PreparedFirst(
    PlanningCycle,
    lambda before: PlanningCycle.objects.filter(
        status=CycleStatus.APPROVED, month__lt=before
    ).order_by("-month"),
    before=_FIRST,
)
_ACTIVE_STREAM = PreparedFirst(
    ValueStream, lambda code: ValueStream.objects.filter(code=code, active=True), code=_CODE
)


def cycle_of_month(month: dt.date) -> PlanningCycle | None:
    """``plans.cycle_get_by_label``'s cycle of a month."""
    return _CYCLE_OF_MONTH.get(month=month)


def cycle_last_approved(*, before: dt.date) -> PlanningCycle | None:
    """``plans.cycle_last_approved``: the newest approved cycle before ``before``."""
    return _LAST_APPROVED.get(before=before)


def active_stream(code: str) -> ValueStream | None:
    """The active value stream of ``code`` (None when there is none)."""
    return _ACTIVE_STREAM.get(code=code)


_THRESHOLDS = PreparedQuery(
    lambda: Company.objects.order_by("pk").values_list(
        _float("utilization_warn"), _float("utilization_over"), _float("demand_change_threshold")
    )[:1]
)


def thresholds() -> engine.Thresholds:
    """``plans.company_thresholds()``: the company's exception thresholds (floats, as
    the engine computes)."""
    rows = _THRESHOLDS.rows()
    if not rows:  # no company row yet: its defaults
        from planning.selectors.plans import company_thresholds

        return company_thresholds()
    warn, over, change = rows[0]
    return engine.Thresholds(utilization_warn=warn, utilization_over=over, demand_change=change)


def _visible_to(user_id: int, stream_id: int) -> QuerySet:
    """``value_streams_visible``'s query for a user without a company-wide role (the
    one rule, asked for a stand-in user holding only the id), narrowed to one stream."""
    from django.contrib.auth import get_user_model

    from valuestreams.selectors import value_streams_visible

    user = get_user_model()(pk=user_id)
    user._sofp_roles = set()  # no company-wide role: the membership branch
    return value_streams_visible(user=user).filter(pk=stream_id).values_list("pk")[:1]


_VISIBLE = PreparedQuery(_visible_to, user_id=_USER, stream_id=_STREAM)


def user_sees_stream(*, user, value_stream: ValueStream) -> bool:
    """``valuestreams.selectors.user_can_view_stream``: its query compiled once for the
    members' case (company-wide readers and anonymous users take that function)."""
    from valuestreams.roles import user_reads_all_streams
    from valuestreams.selectors import user_can_view_stream

    if not user.is_authenticated or user_reads_all_streams(user):
        return user_can_view_stream(user=user, value_stream=value_stream)
    return bool(_VISIBLE.rows(user_id=user.pk, stream_id=value_stream.pk))


_PLAN_CURSOR = PreparedQuery(
    lambda cycle_id: (
        PlanValueChange.all_objects.filter(cycle_id=cycle_id, scenario=None)
        .order_by("-pk")
        .values_list("pk")[:1]
    ),
    cycle_id=_CYCLE,
)
_FACT_CURSOR = PreparedQuery(
    lambda: ActualChange.objects.order_by("-pk").values_list("pk")[:1],
)


def plan_change_cursor(cycle: PlanningCycle) -> int:
    """The newest change id of a plan's cells (``live.grid_cursor`` of the plan)."""
    rows = _PLAN_CURSOR.rows(cycle_id=cycle.pk)
    return int(rows[0][0]) if rows else 0


def fact_change_cursor() -> int:
    """The newest change id of the facts (``live.grid_actual_cursor``)."""
    rows = _FACT_CURSOR.rows()
    return int(rows[0][0]) if rows else 0
