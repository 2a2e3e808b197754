"""Shaping a cycle's plan into the planner's grid: rows × month columns, pure reads.

The grid shows, for one value stream (or the company), the stored input values with
their versions and comments, and below them the engine's computed rows with the
exception flags the engine raises. Nothing is computed here: every number below the
inputs comes from :func:`planning.selectors.plans.cycle_projection` and every flag from
:func:`planning.engine.exceptions` — this module only arranges them. A constant number
of queries whatever the size of the plan (pinned by tests).

Columns
-------
* ``h<YYYY-MM>``: the :data:`ACTUALS_HISTORY_MONTHS` months before the horizon; only
  actual sales may be entered there (the grid hides them until asked).
* ``opening``: opening inventory, one value per family, shown on the ending-inventory
  row (inventory starts there and evolves to the right).
* ``m<YYYY-MM>``: the horizon months.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from planning import engine
from planning.baseline import baseline_gap, baseline_gap_text
from planning.calendar import month_add
from planning.engine import number_or_none
from planning.measures import (
    ACTUALS_HISTORY_MONTHS,
    BASELINE_MEASURE,
    COMPANY_INPUT_MEASURES,
    FAMILY,
    MEASURE_LABELS,
    MEASURE_SCOPE,
    MEASURE_UNITS,
    measure_label_with_unit,
)
from planning.models import (
    ActualChange,
    LaunchStatus,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    cycle_scenario,
)
from planning.selectors.actuals import GRID_ACTUAL_MEASURES, current_month
from planning.selectors.baseline import BaselineRow, baseline_rows
from planning.selectors.cycle_families import cycle_stream_families
from planning.selectors.cycles import company_currency, company_time_text, cycle_refuse_frozen
from planning.selectors.grid_inputs import (
    STORED_CELL_FIELDS,
    cycle_last_approved,
    fast_path,
    stream_cells,
    stream_empty_notes,
    stream_fact_cells,
    stream_facts,
    stream_families,
    stream_plan_read,
    thresholds,
    user_sees_stream,
)
from planning.selectors.launches import ramp_by_month, ramp_rows
from planning.selectors.plans import (
    PlanRights,
    cycle_projection,
    plan_rights,
    user_sees_company_plan,
)
from sofp.errors import PermissionDenied
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import AnyUser

OPENING_FIELD = "opening"

# The rows of each block as (measure, kind): the inputs, then what the engine computes
# from them. Labels and number formats come from planning.measures.
FAMILY_ROWS: tuple[tuple[str, str], ...] = (
    ("demand", "input"),
    ("production", "input"),
    ("actual_sales", "input"),
    ("ending_inventory", "computed"),
    ("days_of_supply", "computed"),
)
STREAM_ROWS: tuple[tuple[str, str], ...] = (
    ("available_hours", "input"),
    ("non_productive_hours", "input"),
    ("conversion_cost", "input"),
    ("required_hours", "computed"),
    ("utilization", "computed"),
    ("revenue", "computed"),
    ("material_cost", "computed"),
    ("value_stream_profit", "computed"),
)
COMPANY_ROWS: tuple[tuple[str, str], ...] = (
    ("sustaining_cost", "input"),
    ("revenue", "computed"),
    ("material_cost", "computed"),
    ("conversion_cost", "computed"),
    ("value_stream_profit", "computed"),
    ("company_profit", "computed"),
    ("inventory_value", "computed"),
    ("cash_flow", "computed"),
)
# Issue 15: the stream's totals (first rows of the stream block) and, per family, the
# last approved plan and the change against it (rows the planner toggles).
TOTAL_ROWS: tuple[str, ...] = ("demand", "production", "ending_inventory")
REFERENCE_ROWS: tuple[tuple[str, str], ...] = tuple(
    (f"{part}_{measure}", measure)
    for measure in ("demand", "production")
    for part in ("last", "change")
)


def total_id(measure: str) -> str:
    return row_id("", f"total_{measure}")


# Which computed row an engine exception is shown on.
FLAG_ROW = {
    "overloaded": "utilization",
    "high_utilization": "utilization",
    "shortage": "ending_inventory",
    "dos_below": "days_of_supply",
    "dos_above": "days_of_supply",
}


@dataclass(frozen=True)
class GridAccess:
    """Whether a user may open a grid, may type into it, and why not."""

    cycle: PlanningCycle
    value_stream: ValueStream | None  # None: the company grid
    measures: frozenset[str]  # the inputs this user changes here, whatever the cycle's state
    denied: str  # why not, when the rights say no
    rights: PlanRights | None = None  # the user's rights, as read for this access

    @property
    def may_edit(self) -> bool:
        return bool(self.measures)

    @property
    def readonly_reason(self) -> str:
        if self.cycle.is_frozen:
            return (
                f"Cycle {self.cycle.label} is approved and frozen: its plan is read-only "
                "for everyone."
            )
        return "" if self.may_edit else f"{self.denied}."

    @property
    def editable(self) -> bool:
        return not self.readonly_reason

    def refuse_write(self) -> None:
        """Raise FrozenCycleError (409) or PermissionDenied (403) unless editable."""
        cycle_refuse_frozen(self.cycle)
        if not self.may_edit:
            raise PermissionDenied(f"{self.denied}.")


def grid_access(
    *, user: AnyUser, cycle: PlanningCycle, value_stream: ValueStream | None
) -> GridAccess:
    """Raises PermissionDenied when the user may not even see this grid."""
    if value_stream is None:
        if not user_sees_company_plan(user):
            raise PermissionDenied(
                "The company page is for executives, finance, sales and administrators."
            )
        denied = "Sustaining costs are entered by finance and administrators"
    else:
        if not user_sees_stream(user=user, value_stream=value_stream):
            raise PermissionDenied(f"You cannot see value stream {value_stream.code}.")
        denied = (
            f"You are not a planner or manager of value stream {value_stream.code}: you read "
            "its plan (sales change demand, finance conversion cost)"
        )
    rights = plan_rights(user=user)
    measures = rights.measures(value_stream_id=None if value_stream is None else value_stream.pk)
    return GridAccess(
        cycle=cycle, value_stream=value_stream, measures=measures, denied=denied, rights=rights
    )


# Fields of the months seen, made once per process (a grid names a thousand cells).
_FIELDS: dict[tuple[str, dt.date], str] = {}


def month_field(month: dt.date) -> str:
    field = _FIELDS.get(("m", month))
    if field is None:
        field = _FIELDS[("m", month)] = f"m{month:%Y-%m}"
    return field


def history_field(month: dt.date) -> str:
    field = _FIELDS.get(("h", month))
    if field is None:
        field = _FIELDS[("h", month)] = f"h{month:%Y-%m}"
    return field


def field_month(field: str) -> dt.date | None:
    """``m2027-03`` / ``h2026-12`` → the first day of that month (None otherwise)."""
    if len(field) != 8 or field[0] not in "mh":
        return None
    try:
        return dt.date(int(field[1:5]), int(field[6:8]), 1)
    except ValueError:
        return None


def row_id(family: str, measure: str) -> str:
    return f"{family}|{measure}"


@dataclass(frozen=True)
class GridColumn:
    field: str
    month: dt.date
    kind: str  # "history" | "opening" | "horizon"

    def as_dict(self, *, current: dt.date) -> dict:
        title = "Opening" if self.kind == "opening" else f"{self.month:%b %y}"
        return {
            "field": self.field,
            "month": f"{self.month:%Y-%m}",
            "title": title,
            "kind": self.kind,
            "past": self.month < current,
            "current": self.month == current,
        }


def grid_columns(*, cycle: PlanningCycle, company: bool = False) -> list[GridColumn]:
    horizon = cycle.horizon_months()
    cols: list[GridColumn] = []
    if not company:
        past = [month_add(cycle.month, -n) for n in range(ACTUALS_HISTORY_MONTHS, 0, -1)]
        cols += [GridColumn(history_field(m), m, "history") for m in past]
        cols.append(GridColumn(OPENING_FIELD, cycle.month, "opening"))
    cols += [GridColumn(month_field(m), m, "horizon") for m in horizon]
    return cols


def editable_fields(
    *, cycle: PlanningCycle, measure: str, today: dt.date, columns: Iterable[GridColumn]
) -> list[str]:
    """The cells of a row that take input (before asking whether this user may edit)."""
    if measure == "ending_inventory":
        return [OPENING_FIELD]
    if measure == "actual_sales":
        last = current_month(today=today)
        return [c.field for c in columns if c.kind != "opening" and c.month <= last]
    if measure in MEASURE_SCOPE:
        return [c.field for c in columns if c.kind == "horizon"]
    return []


def decimal_text(d) -> str:
    """A stored Decimal as plain text without trailing zeros ("1200", "12.5")."""
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _stored_field(pv_month: dt.date, measure: str, cycle: PlanningCycle) -> str:
    if measure == "opening_inventory":
        return OPENING_FIELD
    return history_field(pv_month) if pv_month < cycle.month else month_field(pv_month)


def _flags_by_row(projection: engine.Projection) -> dict[str, dict[str, dict]]:
    """Engine exceptions → {row id: {field: {"level", "reason"}}} (worst first wins)."""
    exc = engine.exceptions(projection, thresholds=thresholds())
    out: dict[str, dict[str, dict]] = {}
    columns = [exc[c].tolist() for c in ("kind", "severity", "product_family", "message")]
    fields = _month_fields(exc["month"])
    for kind, severity, pf, message, field in zip(*columns, fields, strict=True):
        measure = FLAG_ROW.get(kind)
        if measure is None:
            continue
        cells = out.setdefault(row_id(pf, measure), {})
        if field not in cells:
            cells[field] = {"level": "bad" if severity >= 3 else "warn", "reason": message}
    return out


# Month fields by monthly period ordinal (months since 1970-01), made once per process.
_ORDINAL_FIELDS: dict[int, str] = {}
_MONTHLY = pd.PeriodDtype("M")
_FLOAT = np.dtype("float64")
_NAT = np.iinfo(np.int64).min  # a missing period's ordinal


def _ordinal_field(ordinal: int) -> str:
    field = _ORDINAL_FIELDS.get(ordinal)
    if field is None:
        year, month = divmod(ordinal, 12)
        field = _ORDINAL_FIELDS[ordinal] = f"m{1970 + year:04d}-{month + 1:02d}"
    return field


def _month_fields(months: pd.Series) -> list[str]:
    """The month field of each row of a month column: from the periods' ordinals
    (boxing a Period per row cost more than the rest of a row)."""
    if months.dtype == _MONTHLY:
        return [_ordinal_field(o) for o in months.array.asi8.tolist()]
    return [f"m{p.year:04d}-{p.month:02d}" for p in months.tolist()]


def _num(x: object) -> float | None:
    """:func:`engine.number_or_none` (a float, or None for NaN, ±inf and non-numbers),
    asked a thousand times per grid."""
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _family_series(
    frame: pd.DataFrame, measures: list[str]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """{family: {measure: {month field: value}}} of an engine family frame, in its row
    order: one pass over plain lists (a pandas group and series per family cost more
    than the engine's run)."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    if not len(frame):
        return out
    fields = _month_fields(frame["month"])
    codes = [str(c) for c in frame["product_family"].tolist()]
    columns = [(m, frame[m].tolist()) for m in measures]
    for i, (code, field) in enumerate(zip(codes, fields, strict=True)):
        series = out.get(code)
        if series is None:
            series = out[code] = {m: {} for m in measures}
        for m, values in columns:
            series[m][field] = _num(values[i])
    return out


def _series_by_field(frame: pd.DataFrame, column: str) -> dict[str, float | None]:
    return {
        f: _num(v)
        for f, v in zip(_month_fields(frame["month"]), frame[column].tolist(), strict=True)
    }


_UNSET: object = object()


# Quarter and year subtotals (columns the planner shows with a toggle): flows add up,
# inventory is the period's last month, ratios are left empty (not a sum).
STOCK_MEASURES = frozenset({"ending_inventory", "total_ending_inventory"})
FLOW_FORMATS = frozenset({"qty", "hours", "money"})


def subtotal_fields(months: Iterable[dt.date]) -> list[tuple[str, str, list[str]]]:
    """(field, title, month fields) per quarter and year the months touch, in order:
    each quarter after its last month, each year after its last quarter."""
    months = sorted(months)
    out: list[tuple[str, str, list[str]]] = []
    for year in sorted({m.year for m in months}):
        in_year = [m for m in months if m.year == year]
        for q in sorted({(m.month - 1) // 3 + 1 for m in in_year}):
            fields = [month_field(m) for m in in_year if (m.month - 1) // 3 + 1 == q]
            out.append((f"q{year}-{q}", f"Q{q} {year % 100:02d}", fields))
        out.append((f"y{year}", f"Σ {year}", [month_field(m) for m in in_year]))
    return out


def _with_subtotals(
    values: dict[str, float | None], fmt: str, measure: str, periods: list
) -> dict[str, float | None]:
    """The period values of a row (only when its measure adds up or is a stock)."""
    out: dict[str, float | None] = {}
    get = values.get
    if measure in STOCK_MEASURES:
        for field, _title, fields in periods:
            out[field] = get(fields[-1])
    elif fmt in FLOW_FORMATS:
        for field, _title, fields in periods:
            present = [v for v in map(get, fields) if v is not None]
            out[field] = sum(present) if present else None
    else:
        for field, _title, _fields in periods:
            out[field] = None
    return out


def _row_fmt(measure: str) -> str:
    for prefix in ("total_", "last_", "change_"):
        if measure.startswith(prefix):
            measure = measure[len(prefix) :]
    return MEASURE_UNITS.get(measure, "qty")


def grid_computed_rows(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    previous: PlanningCycle | object | None = _UNSET,
    stored: list[_Stored] | None = None,
) -> list[dict]:
    """The engine's rows for the grid (the save endpoint returns exactly these), with
    the quarter and year subtotals of every row, the input rows' included.

    ``previous`` is the last approved cycle and ``stored`` the input cells
    (:func:`grid_stored_cells`) when the caller has read them already.
    """
    rows = _computed_rows(cycle=cycle, value_stream=value_stream, previous=previous, stored=stored)
    periods = subtotal_fields(cycle.horizon_months())
    for r in rows:
        if r.pop("subtotals_only", False):
            continue
        measure = r["id"].split("|", 1)[1]
        r["values"].update(_with_subtotals(r["values"], _row_fmt(measure), measure, periods))
    return rows


def _input_subtotal_rows(
    stored: dict[str, dict[str, float | None]],
    family: str,
    measures: Iterable[str],
    periods: list,
) -> list[dict]:
    """Subtotals of input rows (their month values stay the stored ones), summed over
    the cells that hold a value: a quarter whose cells are all empty stays empty (the
    engine's frame counts a missing input as 0, so it is not read here)."""
    out = []
    for m in measures:
        values = stored.get(row_id(family, m), {})
        out.append(
            {
                "id": row_id(family, m),
                "values": _with_subtotals(values, _row_fmt(m), m, periods),
                "flags": {},
                "subtotals_only": True,
            }
        )
    return out


def _stored_by_row(cells: Iterable[_Stored]) -> dict[str, dict[str, float | None]]:
    """{row id: {month field: value}} of the stored input cells that hold a value."""
    out: dict[str, dict[str, float | None]] = {}
    for pv in cells:
        if pv.value is None or pv.measure == "opening_inventory":
            continue
        field = month_field(pv.month)
        out.setdefault(row_id(pv.family, pv.measure), {})[field] = float(pv.value)
    return out


def _inputs_by_row(
    values: list[tuple], *, cycle: PlanningCycle, value_stream: ValueStream
) -> dict[str, dict[str, float | None]]:
    """What :func:`_stored_by_row` gives of :func:`grid_stored_cells` (an open plan of
    one stream), from the rows of the engine's input just read (``stream_plan_read``:
    the plan's filled cells of the stream and the company) and the stream's facts: the
    plan's actual rows are the ``Actual`` store's."""
    out: dict[str, dict[str, float | None]] = {}
    code = value_stream.code
    for measure, stream, family, month, value in values:
        if stream != code or measure == "opening_inventory" or measure in GRID_ACTUAL_MEASURES:
            continue
        # As the frame holds them: "" for no family, the value a float.
        out.setdefault(row_id(family or "", measure), {})[_ordinal_field(month)] = float(value)
    first = month_add(cycle.month, -ACTUALS_HISTORY_MONTHS)
    last = month_add(cycle.month, cycle.horizon - 1)
    for family, measure, month, value in stream_facts(
        value_stream=value_stream, first=first, last=last
    ):
        if value is not None:
            field = _ordinal_field(month)
            out.setdefault(row_id(family, measure), {})[field] = value
    return out


def _computed_rows(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    previous: PlanningCycle | object | None = _UNSET,
    stored: list[_Stored] | None = None,
) -> list[dict]:
    """The engine's rows (months), before the subtotals are added."""
    periods = subtotal_fields(cycle.horizon_months())
    read = (
        stream_plan_read(cycle=cycle, value_stream=value_stream)
        if fast_path(cycle, value_stream)
        else None
    )
    plan = None if read is None else read[0]
    if stored is None and read is not None:
        stored = _inputs_by_row(read[1], cycle=cycle, value_stream=value_stream)
    else:
        if stored is None:
            stored = grid_stored_cells(cycle=cycle, value_stream=value_stream)
        stored = _stored_by_row(stored)
    if value_stream is None:
        projection = cycle_projection(cycle=cycle)
        return [
            {
                "id": row_id("", measure),
                "values": _series_by_field(projection.company, measure),
                "flags": {},
            }
            for measure, kind in COMPANY_ROWS
            if kind == "computed"
        ] + _input_subtotal_rows(stored, "", ["sustaining_cost"], periods)
    projection = (
        cycle_projection(cycle=cycle, value_streams=[value_stream])
        if plan is None
        else engine.project(plan)
    )
    flags = _flags_by_row(projection)
    rows = []
    fam = projection.family
    if previous is _UNSET:
        previous = cycle_last_approved(before=cycle.month)
    computed_measures = [m for m, kind in FAMILY_ROWS if kind == "computed"]
    now_by_family = _family_series(fam, [*computed_measures, "demand", "production"])
    was_by_family = _approved_family_series(previous, value_stream) if previous is not None else {}
    for code, series in now_by_family.items():
        for measure in computed_measures:
            rid = row_id(code, measure)
            rows.append({"id": rid, "values": series[measure], "flags": flags.get(rid, {})})
        rows += _input_subtotal_rows(
            stored, code, ("demand", "production", *GRID_ACTUAL_MEASURES), periods
        )
        before = was_by_family.get(code)
        for measure in ("demand", "production"):
            now = series[measure]
            was = before[measure] if before is not None else {}
            was = {f: v for f, v in was.items() if f in now}
            change = {
                f: (v - was[f]) if v is not None and was.get(f) is not None else None
                for f, v in now.items()
            }
            rows.append({"id": row_id(code, f"last_{measure}"), "values": was, "flags": {}})
            rows.append({"id": row_id(code, f"change_{measure}"), "values": change, "flags": {}})
    totals = _totals_by_month(fam, TOTAL_ROWS)
    for measure in TOTAL_ROWS:
        rows.append({"id": total_id(measure), "values": totals[measure], "flags": {}})
    rows += _input_subtotal_rows(
        stored, "", ("available_hours", "non_productive_hours", "conversion_cost"), periods
    )
    stream_measures = [measure for measure, kind in STREAM_ROWS if kind == "computed"]
    series = _stream_series(projection.stream, value_stream.code, stream_measures)
    for measure in stream_measures:
        rid = row_id("", measure)
        rows.append({"id": rid, "values": series[measure], "flags": flags.get(rid, {})})
    return rows


def _totals_by_month(
    fam: pd.DataFrame, measures: Iterable[str]
) -> dict[str, dict[str, float | None]]:
    """{measure: {month field: the families' total}}, months in order: what
    ``_series_by_field`` gives of ``fam.groupby("month", sort=True)[measures]
    .sum(min_count=1)``, summed in plain floats (the groupby cost as much as the rest of
    the rows). The sum is pandas' own: compensated (Kahan) in row order, NaN skipped, a
    month without a number empty, a compensation an infinity made NaN reset to 0."""
    measures = list(measures)
    months = fam["month"]
    if months.dtype != _MONTHLY or any(fam[m].dtype != _FLOAT for m in measures):
        by_month = fam.groupby("month", sort=True)[measures].sum(min_count=1).reset_index()
        return {m: _series_by_field(by_month, m) for m in measures}
    ordinals = months.array.asi8.tolist()
    if _NAT in ordinals:  # pragma: no cover - the engine's months are never missing
        by_month = fam.groupby("month", sort=True)[measures].sum(min_count=1).reset_index()
        return {m: _series_by_field(by_month, m) for m in measures}
    out: dict[str, dict[str, float | None]] = {}
    for m in measures:
        sums: dict[int, float] = {}
        compensation: dict[int, float] = {}
        for month, value in zip(ordinals, fam[m].tolist(), strict=True):
            if value != value:  # NaN: skipped (a month of NaN only stays empty)
                continue
            total = sums.get(month)
            if total is None:
                total, c = 0.0, 0.0
            else:
                c = compensation[month]
            y = value - c
            t = total + y
            c = t - total - y
            compensation[month] = 0.0 if c != c else c
            sums[month] = t
        out[m] = {
            _ordinal_field(month): _num(sums[month]) if month in sums else None
            for month in sorted(set(ordinals))
        }
    return out


def _stream_series(
    stream: pd.DataFrame, code: str, measures: Iterable[str]
) -> dict[str, dict[str, float | None]]:
    """{measure: {month field: value}} of one stream's rows of the engine's stream
    frame: ``_series_by_field(stream[stream["value_stream"] == code], measure)``
    without building the filtered frame."""
    keep = [c == code for c in stream["value_stream"].tolist()]
    fields = [f for f, k in zip(_month_fields(stream["month"]), keep, strict=True) if k]
    out: dict[str, dict[str, float | None]] = {}
    for m in measures:
        values = [v for v, k in zip(stream[m].tolist(), keep, strict=True) if k]
        out[m] = {f: _num(v) for f, v in zip(fields, values, strict=True)}
    return out


# An approved plan's family demand and production per stream, as the grid's "last
# approved" rows read them: approved is final and frozen on every path, so the approval
# (this cycle, approved then) stands for them, as for its projection
# (``plans._projection``). Readers never change them.
_APPROVED_KEPT = 64
_approved_series: OrderedDict[tuple, dict] = OrderedDict()
_approved_lock = threading.Lock()


def _approved_family_series(
    previous: PlanningCycle, value_stream: ValueStream
) -> dict[str, dict[str, dict[str, float | None]]]:
    """``_family_series`` of an approved cycle's projection of one stream, made once."""
    key = (previous.pk, previous.approved_at, previous.month, previous.horizon, value_stream.pk)
    if previous.is_frozen and cycle_scenario(previous) is None:
        with _approved_lock:
            found = _approved_series.get(key)
        if found is not None:
            return found
    series = _family_series(
        cycle_projection(cycle=previous, value_streams=[value_stream]).family,
        ["demand", "production"],
    )
    if previous.is_frozen and cycle_scenario(previous) is None:
        with _approved_lock:
            _approved_series[key] = series
            while len(_approved_series) > _APPROVED_KEPT:
                _approved_series.popitem(last=False)
    return series


class _Stored(NamedTuple):
    """The columns of a stored cell the grid shows (no model instances: 25 families ×
    18 months are ~1,500 cells, and building models for them dominated the endpoint; a
    named tuple, because a frozen dataclass's ``__init__`` cost more than the query)."""

    family: str
    month: dt.date
    measure: str
    value: object
    version: int
    comment: str
    changed_by: str | None
    changed_at: dt.datetime


class _WhoTexts(dict):
    """Who changed stored cells, and when: each (user, moment) formatted once per grid (a grid
    shows a thousand cells that share a few saves; a save's answer shows none)."""

    def __missing__(self, key: tuple[str | None, dt.datetime]) -> str:
        text = self[key] = _who(*key)
        return text

    def of(self, cell: _Stored) -> str:
        return self[cell.changed_by, cell.changed_at]


def _stored_values(*, cycle: PlanningCycle, value_stream: ValueStream | None) -> list[_Stored]:
    from planning.selectors.plans import cycle_values

    if value_stream is not None and cycle_scenario(cycle) is None:
        return [
            _Stored(fam or "", month, measure, value, version, comment, user, at)
            for fam, month, measure, value, version, comment, user, at in stream_cells(
                cycle=cycle, value_stream=value_stream
            )
        ]

    qs = cycle_values(cycle)
    if value_stream is None:
        qs = qs.filter(value_stream__isnull=True, measure__in=COMPANY_INPUT_MEASURES)
    else:
        qs = qs.filter(value_stream=value_stream)
    rows = qs.values_list(*STORED_CELL_FIELDS).order_by()
    return [
        _Stored(fam or "", month, measure, value, version, comment, user, at)
        for fam, month, measure, value, version, comment, user, at in rows
    ]


def grid_stored_cells(*, cycle: PlanningCycle, value_stream: ValueStream | None) -> list[_Stored]:
    """The grid's input cells: the cycle's plan values, and for a stream's actual rows
    of a cycle that is not frozen the facts of the ``Actual`` store (whatever path wrote
    them: Month close page, ``import_actuals``, the API, a plan file or the grid), with
    the facts' versions — the open plan holds the same values (``open_plans_follow``).
    An approved cycle shows the copy it was approved with: frozen means frozen."""
    stored = _stored_values(cycle=cycle, value_stream=value_stream)
    if value_stream is None or cycle.is_frozen:
        return stored
    stored = [pv for pv in stored if pv.measure not in GRID_ACTUAL_MEASURES]
    first = month_add(cycle.month, -ACTUALS_HISTORY_MONTHS)
    last = month_add(cycle.month, cycle.horizon - 1)
    for family, month, measure, value, version, user, at in stream_fact_cells(
        value_stream=value_stream, first=first, last=last
    ):
        stored.append(_Stored(family, month, measure, value, version, "", user, at))
    return stored


class _Family(NamedTuple):
    code: str
    name: str


def _stream_families(
    *, cycle: PlanningCycle, value_stream: ValueStream
) -> list[_Family] | list[ProductFamily]:
    """The families the grid shows (``cycle_stream_families``: codes and names)."""
    found = stream_families(cycle=cycle, value_stream=value_stream)
    if found:
        return [_Family(code, name) for code, name in found]
    return cycle_stream_families(cycle=cycle, value_stream=value_stream)


def _empty_cell_comments(
    *, cycle: PlanningCycle, value_stream: ValueStream | None
) -> dict[str, dict[str, str]]:
    """Comments on cells without a value: {row id: {field: text}} (one query)."""
    from planning.models import EmptyCellComment

    if value_stream is None:
        notes = EmptyCellComment.objects.filter(cycle=cycle, value_stream__isnull=True)
        rows = notes.values_list("product_family__code", "month", "measure", "text")
    else:
        rows = stream_empty_notes(cycle=cycle, value_stream=value_stream)
    out: dict[str, dict[str, str]] = {}
    for fam, month, measure, text in rows:
        if measure == "opening_inventory":
            rid, field = row_id(fam or "", "ending_inventory"), OPENING_FIELD
        else:
            rid, field = row_id(fam or "", measure), _stored_field(month, measure, cycle)
        out.setdefault(rid, {})[field] = text
    return out


def _who(username: str | None, at: dt.datetime) -> str:
    """Who changed a cell and when, in the company's time zone, named."""
    return f"{username or 'system'}, {company_time_text(at)}"


REFERENCE_MEASURE = "demand_reference"
# A launch's ramp, shown under its new family's demand (step 1's "Use ramp" copies it).
RAMP_MEASURE = "launch_ramp"


def _reference_demand(
    *, cycle: PlanningCycle, value_stream: ValueStream
) -> tuple[PlanningCycle | None, dict[str, dict[str, float | None]]]:
    """The last approved plan's demand per family and month field (one query or two)."""
    previous = cycle_last_approved(before=cycle.month)
    if previous is None:
        return None, {}
    rows = PlanValue.objects.filter(
        PlanValue.filled,
        cycle=previous,
        value_stream=value_stream,
        measure="demand",
        month__gte=cycle.month,
    ).values_list("product_family__code", "month", "value")
    out: dict[str, dict[str, float | None]] = {}
    for fam, month, value in rows:
        out.setdefault(fam, {})[month_field(month)] = number_or_none(value)
    return previous, out


def _no_baseline_label(base: BaselineRow | None) -> str:
    if base is None:
        return "Statistical baseline: not computed yet"
    return "Statistical baseline: none"


def _baseline_flags(demand: dict[str, _Stored], base: BaselineRow | None) -> dict[str, dict]:
    """Demand cells far from the baseline and not yet explained by a comment (an
    assumption): highlighted, and the tooltip asks for one."""
    if base is None:
        return {}
    flags: dict[str, dict] = {}
    for month, value in base.values.items():
        field = month_field(month)
        pv = demand.get(field)
        if pv is None or pv.comment:
            continue
        d = float(pv.value)
        gap = baseline_gap(d, value)
        if gap is not None:
            flags[field] = {
                "level": "warn",
                "kind": "baseline",
                "reason": baseline_gap_text(d, value, gap),
            }
    return flags


def demand_flag_rows(*, cycle: PlanningCycle, value_stream: ValueStream) -> list[dict]:
    """Each family's demand row with its values and baseline flags, as the save
    endpoints return them to the demand view (so a highlight follows every save)."""
    demand: dict[str, dict[str, _Stored]] = {}
    for pv in _stored_values(cycle=cycle, value_stream=value_stream):
        if pv.measure == "demand":
            demand.setdefault(pv.family, {})[month_field(pv.month)] = pv
    baselines = baseline_rows(cycle=cycle, value_stream=value_stream)
    return [
        {
            "id": row_id(code, "demand"),
            "values": {f: number_or_none(pv.value) for f, pv in cells.items()},
            "flags": _baseline_flags(cells, baselines.get(code)),
        }
        for code, cells in sorted(demand.items())
    ]


def demand_data(*, cycle: PlanningCycle, value_stream: ValueStream, today: dt.date) -> dict:
    """Step 1's demand view: families × horizon months, demand only, each family with
    the last approved plan's demand below it for reference and the statistical baseline
    (grey, read-only); demand far from the baseline without an assumption is flagged."""
    columns = grid_columns(cycle=cycle, company=True)  # the horizon months only
    current = today.replace(day=1)
    previous, reference = _reference_demand(cycle=cycle, value_stream=value_stream)
    stored = [
        pv
        for pv in _stored_values(cycle=cycle, value_stream=value_stream)
        if pv.measure == "demand"
    ]
    cells: dict[str, dict[str, _Stored]] = {}
    for pv in stored:
        cells.setdefault(pv.family, {})[month_field(pv.month)] = pv
    ref_label = f"Last approved ({previous.label})" if previous else "No approved plan yet"
    baselines = baseline_rows(cycle=cycle, value_stream=value_stream)
    ramps = ramp_rows(cycle=cycle, value_stream=value_stream)
    who = _WhoTexts()
    rows: list[dict] = []
    families = cycle_stream_families(cycle=cycle, value_stream=value_stream)
    editable = [c.field for c in columns]
    for family in families:
        mine = cells.get(family.code, {})
        rows.append(
            {
                "id": row_id(family.code, "demand"),
                "family": family.code,
                "family_name": family.name,
                "measure": "demand",
                "label": MEASURE_LABELS["demand"],
                "kind": "input",
                "fmt": MEASURE_UNITS["demand"],
                "pos": 0,
                "editable": editable,
                "values": {f: number_or_none(pv.value) for f, pv in mine.items()},
                "versions": {f: pv.version for f, pv in mine.items()},
                "comments": {f: pv.comment for f, pv in mine.items() if pv.comment},
                "changed": {f: who.of(pv) for f, pv in mine.items()},
                "flags": {},
            }
        )
        rows.append(
            {
                "id": row_id(family.code, REFERENCE_MEASURE),
                "family": family.code,
                "family_name": family.name,
                "measure": REFERENCE_MEASURE,
                "label": ref_label,
                "kind": "computed",
                "fmt": MEASURE_UNITS["demand"],
                "pos": 1,
                "editable": [],
                "values": reference.get(family.code, {}),
                "versions": {},
                "comments": {},
                "changed": {},
                "flags": {},
            }
        )
        base = baselines.get(family.code)
        rows.append(
            {
                "id": row_id(family.code, BASELINE_MEASURE),
                "family": family.code,
                "family_name": family.name,
                "measure": BASELINE_MEASURE,
                "label": base.label if base and base.values else _no_baseline_label(base),
                "reason": base.reason if base else "",
                "kind": "computed",
                "baseline": True,
                "fmt": MEASURE_UNITS["demand"],
                "pos": 2,
                "editable": [],
                "values": {
                    month_field(m): number_or_none(v)
                    for m, v in (base.values if base else {}).items()
                },
                "versions": {},
                "comments": {},
                "changed": {},
                "flags": {},
            }
        )
        rows[-3]["flags"] = _baseline_flags(mine, base)
        launch = ramps.get(family.code)
        if launch is not None:
            horizon = set(editable)
            rows.append(
                {
                    "id": row_id(family.code, RAMP_MEASURE),
                    "family": family.code,
                    "family_name": family.name,
                    "measure": RAMP_MEASURE,
                    "label": f"Launch ramp ({launch.npd_stream.code}, {_launch_when(launch)})",
                    "kind": "computed",
                    "ramp": True,
                    "fmt": MEASURE_UNITS["demand"],
                    "pos": 3,
                    "editable": [],
                    "values": {
                        month_field(m): units
                        for m, units in ramp_by_month(launch).items()
                        if month_field(m) in horizon
                    },
                    "versions": {},
                    "comments": {},
                    "changed": {},
                    "flags": {},
                }
            )
    return {
        "cycle": cycle.label,
        "cycle_month": f"{cycle.month:%Y-%m}",
        "current_month": f"{current:%Y-%m}",
        "scope": {"kind": "stream", "code": value_stream.code, "name": value_stream.name},
        "view": "demand",
        "reference_cycle": previous.label if previous else None,
        "columns": [c.as_dict(current=current) for c in columns],
        "rows": rows,
    }


def grid_data(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    today: dt.date,
) -> dict:
    """Everything the grid page needs, JSON-ready: columns, rows, versions, flags.

    ``value_stream=None`` gives the company grid (sustaining costs and the company
    roll-up). Rows carry ``editable`` (cells that take input at all); whether this
    user may edit is decided by the caller with the permission selectors.
    """
    company = value_stream is None
    columns = grid_columns(cycle=cycle, company=company)
    current = today.replace(day=1)
    currency = company_currency()
    stored = grid_stored_cells(cycle=cycle, value_stream=value_stream)
    cells: dict[str, dict[str, _Stored]] = {}
    for pv in stored:
        if pv.measure == "opening_inventory":
            rid = row_id(pv.family, "ending_inventory")
        else:
            rid = row_id(pv.family, pv.measure)
        cells.setdefault(rid, {})[_stored_field(pv.month, pv.measure, cycle)] = pv
    previous = None if company else cycle_last_approved(before=cycle.month)
    computed = {
        r["id"]: r
        for r in grid_computed_rows(
            cycle=cycle, value_stream=value_stream, previous=previous, stored=stored
        )
    }
    empty_notes = _empty_cell_comments(cycle=cycle, value_stream=value_stream)

    who = _WhoTexts()

    editable_by_measure: dict[str, list[str]] = {}

    def editable(measure: str) -> list[str]:
        """A fresh list per row (rows are JSON, never shared), computed once a measure."""
        fields = editable_by_measure.get(measure)
        if fields is None:
            fields = editable_by_measure[measure] = editable_fields(
                cycle=cycle, measure=measure, today=today, columns=columns
            )
        return list(fields)

    def make_row(family: ProductFamily | None, measure: str, kind: str, pos: int):
        code = family.code if family else ""
        rid = row_id(code, measure)
        stored_cells = cells.get(rid, {})
        values: dict[str, float | None] = {}
        # Computed rows: every value; input rows: their quarter and year subtotals.
        values.update(computed.get(rid, {}).get("values", {}))
        values.update({f: _num(pv.value) for f, pv in stored_cells.items()})
        return {
            "id": rid,
            "family": code,
            "family_name": family.name if family else "",
            "measure": measure,
            "label": measure_label_with_unit(measure, currency),
            "kind": kind,
            "fmt": MEASURE_UNITS[measure],
            "pos": pos,
            "editable": editable(measure),
            "values": values,
            "versions": {f: pv.version for f, pv in stored_cells.items()},
            "comments": {
                **empty_notes.get(rid, {}),
                **{f: pv.comment for f, pv in stored_cells.items() if pv.comment},
            },
            "changed": {f: who.of(pv) for f, pv in stored_cells.items()},
            "flags": computed.get(rid, {}).get("flags", {}),
        }

    rows: list[dict] = []
    if company:
        for i, (measure, kind) in enumerate(COMPANY_ROWS):
            rows.append(make_row(None, measure, kind, i))
    else:
        families = _stream_families(cycle=cycle, value_stream=value_stream)
        was = f"last approved ({previous.label})" if previous else "last approved (none yet)"
        for family in families:
            for i, (measure, kind) in enumerate(FAMILY_ROWS):
                rows.append(make_row(family, measure, kind, i))
            for j, (rmeasure, measure) in enumerate(REFERENCE_ROWS, start=len(FAMILY_ROWS)):
                part = rmeasure.split("_", 1)[0]
                name = MEASURE_LABELS[measure].split(" (")[0]
                text = f"{name}, {was}" if part == "last" else f"{name}, change vs {was}"
                rows.append(
                    _extra_row(
                        family.code,
                        family.name,
                        rmeasure,
                        measure_label_with_unit(measure, currency, text),
                        measure,
                        j,
                        computed.get(row_id(family.code, rmeasure), {}).get("values", {}),
                        toggle=part,
                    )
                )
        stream_name = f"{value_stream.code} (value stream)"
        for i, measure in enumerate(TOTAL_ROWS):
            name = MEASURE_LABELS[measure].split(" (")[0]
            rows.append(
                _extra_row(
                    "",
                    stream_name,
                    f"total_{measure}",
                    measure_label_with_unit(measure, currency, f"Σ {name}, all families"),
                    measure,
                    i,
                    computed.get(total_id(measure), {}).get("values", {}),
                )
            )
        for i, (measure, kind) in enumerate(STREAM_ROWS, start=len(TOTAL_ROWS)):
            row = make_row(None, measure, kind, i)
            row["family_name"] = stream_name
            rows.append(row)
    return {
        "cycle": cycle.label,
        "cycle_month": f"{cycle.month:%Y-%m}",
        "current_month": f"{current:%Y-%m}",
        "scope": (
            {"kind": "company", "code": "", "name": "Company"}
            if company
            else {"kind": "stream", "code": value_stream.code, "name": value_stream.name}
        ),
        "columns": _with_subtotal_columns(
            [c.as_dict(current=current) for c in columns], cycle.horizon_months()
        ),
        "rows": rows,
    }


def _with_subtotal_columns(columns: list[dict], months: list[dt.date]) -> list[dict]:
    """Insert each quarter's column after its last month and each year's after it."""
    after: dict[str, list[dict]] = {}
    for field, title, fields in subtotal_fields(months):
        after.setdefault(fields[-1], []).append(
            {
                "field": field,
                "month": "",
                "title": title,
                "kind": "subtotal",
                "past": False,
                "current": False,
            }
        )
    out: list[dict] = []
    for col in columns:
        out.append(col)
        out += after.get(col["field"], [])
    return out


def _extra_row(
    family: str,
    family_name: str,
    measure: str,
    label: str,
    unit_of: str,
    pos: int,
    values: dict,
    *,
    toggle: str = "",
) -> dict:
    """A read-only row the engine's numbers fill: totals, last approved, change."""
    return {
        "id": row_id(family, measure),
        "family": family,
        "family_name": family_name,
        "measure": measure,
        "label": label,
        "kind": "computed",
        "fmt": MEASURE_UNITS[unit_of],
        "pos": pos,
        "toggle": toggle,
        "editable": [],
        "values": values,
        "versions": {},
        "comments": {},
        "changed": {},
        "flags": {},
    }


def _utc_z(at: dt.datetime) -> str:
    """A moment as the API writes it (UTC, ``Z``)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ACTUAL_SOURCES = {"page": "Month close page", "import": "Import", "api": "API", "grid": "Grid"}


def _history_entry(ch: PlanValueChange | ActualChange, source: str) -> dict:
    """One change of a cell's story (a plan or a fact change), times in UTC and in the
    company's zone."""
    return {
        "at": _utc_z(ch.changed_at),
        "at_text": company_time_text(ch.changed_at),
        "by": ch.changed_by.username if ch.changed_by else "system",
        "old": None if ch.old_value is None else decimal_text(ch.old_value),
        "new": None if ch.new_value is None else decimal_text(ch.new_value),
        "version": ch.version,
        "source": source,
    }


def cell_history(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    family: ProductFamily | None,
    measure: str,
    month: dt.date,
    limit: int = 100,
) -> dict:
    """One cell's story: current value, version, comment and its changes, newest first.
    The actual rows tell the fact's story (``Actual``), whatever path changed it; other
    rows the plan's or, in a scenario, the scenario's."""
    from planning.selectors.plans import cycle_value_changes, cycle_values

    if measure in GRID_ACTUAL_MEASURES and value_stream is not None:
        return _actual_history(
            value_stream=value_stream, family=family, measure=measure, month=month, limit=limit
        )
    filters: dict = {"measure": measure, "month": month}
    if MEASURE_SCOPE.get(measure) == FAMILY:
        filters["product_family"] = family
    else:
        filters["product_family__isnull"] = True
        if value_stream is None:
            filters["value_stream__isnull"] = True
        else:
            filters["value_stream"] = value_stream
    pv = cycle_values(cycle).filter(**filters).select_related("updated_by").first()
    changes = (
        cycle_value_changes(cycle)
        .filter(**filters)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )
    return {
        "value": None if pv is None or pv.value is None else decimal_text(pv.value),
        "version": 0 if pv is None else pv.version,
        "comment": "" if pv is None else pv.comment,
        # "adopted from scenario NAME" is the note; else the source's name.
        "changes": [_history_entry(ch, ch.note or ch.get_source_display()) for ch in changes],
    }


def _actual_history(
    *,
    value_stream: ValueStream,
    family: ProductFamily | None,
    measure: str,
    month: dt.date,
    limit: int,
) -> dict:
    from planning.models import Actual

    filters = {"value_stream": value_stream, "measure": measure, "month": month}
    filters["product_family"] = family
    fact = Actual.objects.filter(**filters).first()
    changes = (
        ActualChange.objects.filter(**filters)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )
    return {
        "value": None if fact is None else decimal_text(fact.value),
        "version": 0 if fact is None else fact.version,
        "comment": "",
        "changes": [_history_entry(ch, ACTUAL_SOURCES.get(ch.source, ch.source)) for ch in changes],
    }


def _launch_when(launch) -> str:
    """ "launched YYYY-MM" once it has launched, else "planned YYYY-MM"."""
    if launch.status == LaunchStatus.LAUNCHED and launch.actual_month is not None:
        return f"launched {launch.actual_month:%Y-%m}"
    return f"planned {launch.planned_month:%Y-%m}"
