"""SOFP planning engine: the formulas of ``SOFP.md`` as pure, vectorised pandas/numpy.

Nothing here imports Django; the models, importers, views and the API feed plain
DataFrames in and read plain DataFrames out, so every screen, export and API call gets
the same numbers from one place.

Conventions
-----------
* Months are ``pd.Period`` with freq ``"M"`` (column dtype ``period[M]``); the export
  frame alone uses ``"YYYY-MM"`` text, as in the file contract.
* Codes (``value_stream``, ``product_family``) are ``str``; ``""`` means "none"
  (value-stream rows have ``product_family == ""``, company rows have both ``""``).
* Numbers are float64; ``NaN`` means undefined / empty (never ``inf``).

Inputs (:class:`PlanInput`)
---------------------------
* ``master``: one row per family of the plan, columns ``value_stream, product_family,
  unit_price, unit_material_cost, hours_per_unit, dos_min, dos_max``.
* ``values``: long frame ``value_stream, product_family, month, measure, value``.
  Family measures (:data:`FAMILY_INPUT_MEASURES`) are keyed by both codes, stream
  measures (:data:`STREAM_INPUT_MEASURES`) by ``value_stream`` (``product_family`` is
  ``""``), company measures (:data:`COMPANY_INPUT_MEASURES`) by month only. Rows whose
  month is outside the horizon, whose family is not in ``master``, whose measure is
  unknown or whose value is NaN are ignored; ``opening_inventory`` is read from the
  first horizon month only. Duplicate keys add up (the importer rejects them anyway).
  Missing inputs count as 0, except ``actual_sales`` and ``statistical_baseline`` which
  stay NaN. No formula reads ``statistical_baseline``: it is carried to the family frame
  and the export as stored.
* ``value_streams``: extra stream codes to include even without families.
* ``development_hours``: ``value_stream, month, hours`` — an NPD stream's project work
  on its launches (SOFP.md "NPD launches"), added to that stream's required hours (so
  its utilization, capacity shares and overload exceptions include it). Streams not in
  the plan and months outside the horizon are ignored; several rows of a month add up.

Outputs (:class:`Projection`, one row per key and horizon month, sorted by key, month)
-------------------------------------------------------------------------------------
* ``family``: value_stream, product_family, month, demand, production, actual_sales,
  statistical_baseline, opening_inventory (I0, repeated), ending_inventory,
  days_of_supply, dos_min, dos_max.
* ``stream``: value_stream, month, demand, production, available_hours,
  non_productive_hours, conversion_cost, required_hours, utilization, productive_share,
  non_productive_share, available_share, revenue, material_cost, value_stream_profit,
  return_on_sales, inventory_value.
* ``company``: month, sustaining_cost, revenue, material_cost, conversion_cost,
  value_stream_profit, company_profit, inventory_value, opening_inventory_value (IV_0,
  repeated), cash_flow.

:func:`export_frame` / :func:`computed_frame` turn a projection into the long file
contract; :func:`forecast_accuracy`, :func:`plan_changes`, :func:`family_demand_changes`
and :func:`exceptions` feed the box score and step 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

try:  # a hash table of Python objects, as pandas uses inside Index.get_indexer
    from pandas._libs.hashtable import PyObjectHashTable
except ImportError:  # pragma: no cover - the public path in _lookup serves then
    PyObjectHashTable = None
try:  # one C pass: is every element a str (no None/NaN)? As pandas' dtype inference does.
    from pandas._libs.lib import is_string_array as _is_string_array
except ImportError:  # pragma: no cover - every column is then converted as before

    def _is_string_array(values: np.ndarray, skipna: bool = False) -> bool:
        return False


from planning.frames import block_frame, repeated_codes
from planning.measures import (
    COMPANY_INPUT_MEASURES,
    COMPANY_OUTPUT_MEASURES,
    FAMILY_INPUT_MEASURES,
    FAMILY_OUTPUT_MEASURES,
    MAX_HORIZON,
    MIN_HORIZON,
    STREAM_INPUT_MEASURES,
    STREAM_OUTPUT_MEASURES,
)

MASTER_COLUMNS = (
    "value_stream",
    "product_family",
    "unit_price",
    "unit_material_cost",
    "hours_per_unit",
    "dos_min",
    "dos_max",
)
VALUE_COLUMNS = ("value_stream", "product_family", "month", "measure", "value")
EXPORT_COLUMNS = VALUE_COLUMNS

FAMILY_COLUMNS = (
    "value_stream",
    "product_family",
    "month",
    "demand",
    "production",
    "actual_sales",
    "statistical_baseline",
    "opening_inventory",
    "ending_inventory",
    "days_of_supply",
    "dos_min",
    "dos_max",
)
STREAM_COLUMNS = (
    "value_stream",
    "month",
    "demand",
    "production",
    "available_hours",
    "non_productive_hours",
    "conversion_cost",
    "required_hours",
    "development_hours",
    "utilization",
    "productive_share",
    "non_productive_share",
    "available_share",
    "revenue",
    "material_cost",
    "value_stream_profit",
    "return_on_sales",
    "inventory_value",
)
COMPANY_COLUMNS = (
    "month",
    "sustaining_cost",
    "revenue",
    "material_cost",
    "conversion_cost",
    "value_stream_profit",
    "company_profit",
    "inventory_value",
    "opening_inventory_value",
    "cash_flow",
)

# Export row order inside one family-month, one stream-month and one company-month.
_EXPORT_FAMILY_MEASURES = (
    "opening_inventory",
    "demand",
    "production",
    "actual_sales",
    "statistical_baseline",
    "ending_inventory",
    "days_of_supply",
)
_EXPORT_STREAM_MEASURES = STREAM_INPUT_MEASURES + STREAM_OUTPUT_MEASURES
_EXPORT_COMPANY_MEASURES = COMPANY_INPUT_MEASURES + COMPANY_OUTPUT_MEASURES

ACCURACY_FAMILY_COLUMNS = (
    "value_stream",
    "product_family",
    "month",
    "forecast",
    "actual",
    "abs_error",
    "abs_pct_error",
)
ACCURACY_STREAM_COLUMNS = (
    "value_stream",
    "month",
    "forecast",
    "actual",
    "abs_error",
    "wape",
    "bias",
)
ACCURACY_COMPANY_COLUMNS = ("month", "forecast", "actual", "abs_error", "wape", "bias")

PLAN_CHANGE_MEASURES = ("demand", "production", "value_stream_profit")
PLAN_CHANGE_COLUMNS = (
    "value_stream",
    "month",
    "measure",
    "current",
    "previous",
    "change",
    "change_pct",
)
FAMILY_CHANGE_COLUMNS = (
    "value_stream",
    "product_family",
    "month",
    "current",
    "previous",
    "change",
    "change_pct",
)

EXCEPTION_COLUMNS = (
    "kind",
    "severity",
    "value_stream",
    "product_family",
    "month",
    "value",
    "limit",
    "message",
    "distance",
)
# Higher = worse: the plan cannot be met, then it is at risk, then it is off target.
SEVERITY = {
    "overloaded": 3,
    "shortage": 3,
    "high_utilization": 2,
    "demand_change": 2,
    "launch_slipped": 2,
    "dos_below": 1,
    "dos_above": 1,
}
KINDS = tuple(SEVERITY)

_PERIOD_M = pd.PeriodDtype("M")


@dataclass(frozen=True)
class Thresholds:
    """Exception limits; the defaults are the ones of SOFP.md."""

    utilization_warn: float = 0.90
    utilization_over: float = 1.00
    demand_change: float = 0.10


@dataclass(frozen=True, eq=False)
class PlanInput:
    """Everything one projection needs (see the module docstring for the columns)."""

    start: pd.Period
    horizon: int
    master: pd.DataFrame
    values: pd.DataFrame
    value_streams: tuple[str, ...] = ()
    development_hours: pd.DataFrame | None = None


@dataclass(eq=False)
class Projection:
    """The computed plan: family, value-stream and company frames over the horizon."""

    family: pd.DataFrame
    stream: pd.DataFrame
    company: pd.DataFrame


@dataclass(eq=False)
class Accuracy:
    """Lag-1 forecast accuracy per family, value stream and company."""

    family: pd.DataFrame
    stream: pd.DataFrame
    company: pd.DataFrame


# --------------------------------------------------------------------------- helpers


def number_or_none(x: object) -> float | None:
    """An engine number for JSON, a template or a chart: a float, or None where the
    engine says "undefined" (NaN; also ±inf, None and anything that is not a number)."""
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) or np.isinf(f) else f


def _periods(col: pd.Series | pd.Index | list) -> pd.PeriodIndex:
    """Monthly PeriodIndex from Periods or 'YYYY-MM' text, so callers may pass either."""
    dtype = getattr(col, "dtype", None)
    if isinstance(dtype, pd.PeriodDtype):
        idx = pd.PeriodIndex(col)
        return idx if idx.freqstr == "M" else idx.asfreq("M")
    return pd.PeriodIndex(col, freq="M")


def _str_index(codes: np.ndarray | list) -> pd.Index:
    """An index of codes with the str dtype, used as a vocabulary for cheap ``take``."""
    return pd.Index(np.asarray(codes, dtype=object), dtype="str")


def _codes(col: pd.Series, rows: np.ndarray | None = None) -> np.ndarray:
    """Codes as an object array of str, NaN/None read as "" (empty cell); only ``rows``
    when given. A ``str`` column is read as stored and only its missing cells are filled."""
    codes = col.to_numpy(dtype=object)
    if rows is not None:
        codes = codes[rows]
    if len(codes) and _is_string_array(codes, skipna=False):
        return codes  # every cell already a str: nothing to fill or convert
    if not isinstance(col.dtype, pd.StringDtype):
        if rows is not None:  # convert those rows only
            col = col.iloc[rows]
        return col.fillna("").astype("str").to_numpy(dtype=object)
    missing = pd.isna(codes)
    if missing.any():
        codes = codes.copy()
        codes[missing] = ""
    return codes


def _lookup(vocab: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Position of each code in ``vocab`` (unique str codes), -1 when absent.

    One probe of pandas' own hash table per code: ``Index.get_indexer`` does the same
    probes but first infers the type of every code, which costs as much again.
    """
    if PyObjectHashTable is None:  # pragma: no cover - a pandas without the table
        return pd.Index(vocab, dtype=object).get_indexer(pd.Index(codes, dtype=object))
    table = PyObjectHashTable(len(vocab))
    table.map_locations(np.asarray(vocab, dtype=object))
    return table.lookup(np.asarray(codes, dtype=object))


def _lookup_runs(vocab: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """:func:`_lookup`, one probe per run of one code object (:func:`_object_runs`): a
    long column of a few codes built once and repeated (measures, streams) mostly comes
    in runs. Fresh objects per row (a database driver's) are probed row by row: comparing
    their values to find runs costs more than the probes it saves."""
    starts = _object_runs(codes)
    if starts is None:
        return _lookup(vocab, codes)
    return np.repeat(_lookup(vocab, codes[starts]), np.diff(np.append(starts, len(codes))))


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A frame over freshly built arrays, without copying them (each array is used once)."""
    return pd.DataFrame(columns, copy=False)


def _safe_div(num: np.ndarray, den: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """num / den with NaN where den is 0 (undefined, never inf); into ``out`` when given."""
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    if out is None:
        out = np.full(num.shape, np.nan)
    else:
        out.fill(np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _grids_frame(
    columns: tuple[str, ...], grids: dict[str, np.ndarray], others: dict[str, object]
) -> pd.DataFrame:
    """:func:`block_frame` of float64 grids (raveled, copied into one block, small frames)
    and ``others``. A grid of another dtype stays a column of its own, as
    ``pd.DataFrame(dict)`` kept it: ``np.bincount`` over no rows gives int64 zeros (the
    sustaining cost of a plan without one)."""
    floats = [grids[c] for c in columns if c in grids and grids[c].dtype == np.float64]
    others = others | {c: g.ravel() for c, g in grids.items() if g.dtype != np.float64}
    block = np.empty((len(floats), next(iter(grids.values())).size))
    for row, grid in zip(block, floats, strict=True):
        row[:] = grid.ravel()
    return block_frame(columns, block, others)


def _month_column(ordinals: np.ndarray) -> pd.arrays.PeriodArray:
    return pd.arrays.PeriodArray(np.asarray(ordinals, dtype=np.int64), dtype=_PERIOD_M)


def _sum_by_group(x: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of ``x`` by a sorted group index, in row order, zero for empty groups."""
    out = np.zeros((n_groups, *x.shape[1:]))
    if len(group):
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        out[group[starts]] = np.add.reduceat(x, starts, axis=0)
    return out


def _empty(columns: tuple[str, ...], dtypes: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in columns})


_NAT = np.iinfo(np.int64).min  # a missing Period's ordinal


def _ordinals(col: pd.Series, rows: np.ndarray | None = None) -> np.ndarray:
    """Month ordinals of a column of Periods or 'YYYY-MM' text (NaT: ``_NAT``), only
    ``rows`` when given; a period[M] column is read as stored, without building an index."""
    if col.dtype == _PERIOD_M:
        return col.array.asi8 if rows is None else col.array.asi8[rows]
    return _periods(col if rows is None else col.iloc[rows]).asi8


def _inner_join(
    left: pd.DataFrame, right: pd.DataFrame, keys: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Row positions of ``left.merge(right, on=keys, how="inner", sort=True)``, in its
    order, from the keys' codes (small frames pay pandas' merge machinery many times over
    the work). None where that is not the same answer cheaply: a side empty, a key not
    unique, a code not a ``str``, a month not period[M] or missing, differing dtypes."""
    if not len(left) or not len(right):
        return None
    combined_l = np.zeros(len(left), dtype=np.int64)
    combined_r = np.zeros(len(right), dtype=np.int64)
    width_total = 1
    for key in keys:
        a, b = left[key], right[key]
        if a.dtype != b.dtype:
            return None
        if a.dtype == _PERIOD_M:
            ca, cb = a.array.asi8, b.array.asi8
            low = min(int(ca.min()), int(cb.min()))
            if low == _NAT:
                return None
            width = max(int(ca.max()), int(cb.max())) - low + 1
            ca, cb = ca - low, cb - low
        elif a.dtype == object:
            va, vb = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
            if not (_is_string_array(va, skipna=False) and _is_string_array(vb, skipna=False)):
                return None
            codes, uniques = pd.factorize(np.concatenate([va, vb]), sort=True)
            width = len(uniques)
            ca, cb = codes[: len(va)], codes[len(va) :]
        else:
            return None
        width_total *= width
        if width_total >= 2**62:
            return None
        combined_l = combined_l * width + ca
        combined_r = combined_r * width + cb
    for combined in (combined_l, combined_r):  # merge pairs every repeat of a key
        ordered = np.sort(combined)
        if (ordered[1:] == ordered[:-1]).any():
            return None
    # Sorted by the combined code: by each key in turn, codes and months in sorted order.
    _, left_rows, right_rows = np.intersect1d(
        combined_l, combined_r, assume_unique=True, return_indices=True
    )
    return left_rows, right_rows


# --------------------------------------------------------------------------- project


def _code_positions(
    vocab: np.ndarray, col: pd.Series, rows: np.ndarray | None = None
) -> np.ndarray:
    """Position of the code in each row of ``col`` (only ``rows`` when given) in
    ``vocab``; -1 when absent.

    Same answer as looking up ``_codes(col)``, without filling the column first: a ``str``
    column is looked up as stored, and only the misses are checked for a missing code
    (read as ""). ``vocab`` holds unique str codes.
    """
    # Any column (str or object) is looked up as stored: a str code finds itself; only
    # the misses are read again as codes (NaN as "", 1001 as "1001") and looked up.
    stored = col.to_numpy(dtype=object)
    if rows is not None:
        stored = stored[rows]
    pos = _lookup(vocab, stored)
    miss = np.flatnonzero(pos < 0)
    # Misses that are str already read the same as codes: absent again, no second probe.
    if len(miss) and not _is_string_array(stored[miss], skipna=False):
        pos[miss] = _lookup(vocab, _codes(col, miss if rows is None else rows[miss]))
    return pos


def _family_rows(
    fam_vs: np.ndarray,
    fam_pf: np.ndarray,
    vs_col: pd.Series,
    pf_col: pd.Series,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Family position of each row (of ``rows``), looked up row by row: the family code
    in the hash table, then the stream checked against the family's."""
    idx = _code_positions(fam_pf, pf_col, rows)
    # Compare streams as stored first; only the mismatches are read again as codes.
    stored = vs_col.to_numpy(dtype=object)
    if rows is not None:
        stored = stored[rows]
    wrong = np.flatnonzero((fam_vs.take(idx, mode="clip") != stored) & (idx >= 0))
    if len(wrong):
        at = wrong if rows is None else rows[wrong]
        wrong = wrong[fam_vs[idx[wrong]] != _codes(vs_col, at)]
        idx[wrong] = -1
    return idx


class _Addresses:
    """An object array's element pointers as intp, through the array interface: a view
    of the same memory (nothing copied, no object touched), kept alive by ``owner``."""

    def __init__(self, owner: np.ndarray) -> None:
        self.owner = owner
        self.__array_interface__ = {
            "data": (owner.__array_interface__["data"][0], True),
            "typestr": np.dtype(np.intp).str,
            "shape": owner.shape,
            "strides": owner.strides,
            "version": 3,
        }


def _neighbour_changes(codes: np.ndarray, out: np.ndarray) -> None:
    """``out |= codes[1:] != codes[:-1]`` for an object array, comparing values only
    where the neighbours are different objects and ``out`` is not already set.

    Columns of codes repeat a few objects (a code built once and repeated by position,
    a constant broadcast), and an object is equal to itself, so most neighbours are
    settled by their addresses, ~30x cheaper than a rich comparison. The one value it
    reads differently is an object unequal to itself (NaN): never a ``str``, and the
    callers read runs of anything but a ``str`` row by row anyway.
    """
    if codes.dtype != object:  # pragma: no cover - the callers pass object arrays
        out |= codes[1:] != codes[:-1]
        return
    address = np.asarray(_Addresses(codes))
    differ = address[1:] != address[:-1]
    differ &= ~out
    differ = np.flatnonzero(differ)
    out[differ] = codes[differ + 1] != codes[differ]


def _object_runs(codes: np.ndarray) -> np.ndarray | None:
    """First row of each run of rows holding the very same object, or None when the runs
    are not long enough to be worth it. Exact for any object: one object, one answer."""
    n = len(codes)
    if n < 64 or codes.dtype != object:
        return None
    address = np.asarray(_Addresses(codes))
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(address[1:], address[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    return starts if 4 * len(starts) <= n else None


def _run_starts(*columns: np.ndarray) -> np.ndarray | None:
    """First row of each run of rows with equal codes in every column (as stored), or
    None when the rows do not come in runs long enough to be worth it (or cannot be
    compared).

    Plans come grouped by family (the database's order, a file's), so one look-up per
    run replaces one per row: comparing neighbours is cheaper than hashing each code.
    """
    n = len(columns[0])
    if n < 64:
        return None
    change = np.zeros(n, dtype=bool)
    change[0] = True
    try:
        for codes in columns:
            _neighbour_changes(codes, change[1:])
    except TypeError:  # a code whose comparison has no truth value (pd.NA)
        return None
    starts = np.flatnonzero(change)
    return starts if 4 * len(starts) <= n else None


def _family_indexer(fam_vs: np.ndarray, fam_pf: np.ndarray, values: pd.DataFrame) -> np.ndarray:
    """Position of each value row's family among the master families, -1 when unknown.

    Family codes are normally unique on their own, so a flat hash lookup plus a stream
    check is enough (and much faster than a MultiIndex); otherwise match on both codes.
    Rows grouped by family are looked up once per run (:func:`_run_starts`).
    """
    vs_col, pf_col = values["value_stream"], values["product_family"]
    if not pd.Index(fam_pf, dtype=object).is_unique:
        return pd.MultiIndex.from_arrays([fam_vs, fam_pf]).get_indexer(
            pd.MultiIndex.from_arrays([_codes(vs_col), _codes(pf_col)])
        )
    vs_raw, pf_raw = vs_col.to_numpy(dtype=object), pf_col.to_numpy(dtype=object)
    starts = _run_starts(pf_raw, vs_raw)
    if starts is None:
        return _family_rows(fam_vs, fam_pf, vs_col, pf_col)
    rep_vs, rep_pf = vs_raw[starts], pf_raw[starts]
    # A run of str codes reads as its first row does (its rows equal it); runs of other
    # objects (None, NaN, numbers: 1001 and 1001.0 are equal but read "1001", "1001.0")
    # are read row by row below.
    if _is_string_array(rep_pf, skipna=False) and _is_string_array(rep_vs, skipna=False):
        plain = np.ones(len(starts), dtype=bool)
    else:
        plain = np.fromiter(
            (type(p) is str and type(v) is str for p, v in zip(rep_pf, rep_vs, strict=True)),
            dtype=bool,
            count=len(starts),
        )
    pos = _lookup(fam_pf, rep_pf)
    found = np.flatnonzero(plain & (pos >= 0))
    pos[found[fam_vs[pos[found]] != rep_vs[found]]] = -1  # the family of another stream
    lengths = np.diff(np.append(starts, len(pf_raw)))
    idx = np.repeat(pos, lengths)
    if not plain.all():
        rows = np.flatnonzero(np.repeat(~plain, lengths))
        idx[rows] = _family_rows(fam_vs, fam_pf, vs_col, pf_col, rows)
    return idx


def _master_order(fam_vs: np.ndarray, fam_pf: np.ndarray) -> np.ndarray | None:
    """Order of the families by (value stream, family) code, None when already in order
    (as the database gives them); duplicates are an error."""
    same_vs = fam_vs[1:] == fam_vs[:-1]
    ascending = (fam_vs[1:] > fam_vs[:-1]) | (same_vs & (fam_pf[1:] > fam_pf[:-1]))
    if ascending.all():
        return None
    order = np.argsort(fam_pf, kind="stable")
    order = order[np.argsort(fam_vs[order], kind="stable")]
    vs, pf = fam_vs[order], fam_pf[order]
    if ((vs[1:] == vs[:-1]) & (pf[1:] == pf[:-1])).any():
        raise ValueError("master data has duplicate families")
    return order


def _development_hours(
    frame: pd.DataFrame | None, stream_vocab: np.ndarray, start: pd.Period, n_month: int
) -> np.ndarray:
    """(stream, month) development hours of the plan's streams over the horizon."""
    out = np.zeros((len(stream_vocab), n_month))
    if frame is None or not len(frame) or not len(stream_vocab):
        return out
    s_idx = _lookup(stream_vocab, _codes(frame["value_stream"]))
    offset = _periods(frame["month"]).asi8 - start.ordinal
    hours = frame["hours"].to_numpy(dtype=float, na_value=np.nan)
    ok = (s_idx >= 0) & (offset >= 0) & (offset < n_month) & ~np.isnan(hours)
    np.add.at(out, (s_idx[ok], offset[ok]), hours[ok])
    return out


def project(plan: PlanInput) -> Projection:
    """Apply the SOFP formulas to one plan (all families, streams and months at once)."""
    start = plan.start if isinstance(plan.start, pd.Period) else pd.Period(plan.start, "M")
    start = start.asfreq("M")
    horizon = int(plan.horizon)
    if not MIN_HORIZON <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be {MIN_HORIZON} to {MAX_HORIZON} months, got {horizon}")
    missing = [c for c in MASTER_COLUMNS if c not in plan.master.columns]
    if missing:
        raise ValueError(f"master data lacks columns: {', '.join(missing)}")

    # Plain arrays from here on: sorting, lookups and frames are built from NumPy.
    master = plan.master
    fam_vs, fam_pf = _codes(master["value_stream"]), _codes(master["product_family"])
    order = _master_order(fam_vs, fam_pf)
    m = {c: master[c].to_numpy(dtype=float, na_value=np.nan) for c in MASTER_COLUMNS[2:]}
    if order is not None:
        fam_vs, fam_pf = fam_vs[order], fam_pf[order]
        m = {c: col[order] for c, col in m.items()}
    m = {c: col[:, None] for c, col in m.items()}
    n_fam, n_month = len(fam_vs), horizon

    values = plan.values
    if len(values):
        v_measure = values["measure"].to_numpy(dtype=object)
        v_offset = _periods(values["month"]).asi8 - start.ordinal
        v_value = values["value"].to_numpy(dtype=float, na_value=np.nan)
        keep = (v_offset >= 0) & (v_offset < n_month) & ~np.isnan(v_value)
    else:
        v_measure = np.empty(0, dtype=object)
        v_offset = np.empty(0, dtype=np.int64)
        v_value = np.empty(0)
        keep = np.empty(0, dtype=bool)
    measure_code = _lookup_runs(
        np.array(FAMILY_INPUT_MEASURES + STREAM_INPUT_MEASURES + COMPANY_INPUT_MEASURES, object),
        v_measure,
    )
    n_fm, n_sm = len(FAMILY_INPUT_MEASURES), len(STREAM_INPUT_MEASURES)
    stream_rows = np.flatnonzero((measure_code >= n_fm) & (measure_code < n_fm + n_sm))
    st_vs = (
        _codes(values["value_stream"], stream_rows) if len(values) else np.empty(0, dtype=object)
    )

    st_starts = _object_runs(st_vs)  # a run is one object: its first row stands for it
    st_codes = set(st_vs if st_starts is None else st_vs[st_starts])
    streams = sorted(set(fam_vs) | st_codes | {str(s) for s in plan.value_streams} - {""})
    n_stream = len(streams)
    stream_vocab = np.array(streams, dtype=object)
    fam_stream = _lookup(stream_vocab, fam_vs)

    # ---- family inputs -> (measure, family, month) array
    # The family frame's float columns, one (family, month) grid each, written in place.
    fam_block = np.empty((len(FAMILY_COLUMNS) - 3, n_fam * n_month))
    grids = fam_block.reshape(len(fam_block), n_fam, n_month)
    fam_cols = dict(zip(FAMILY_COLUMNS[3:], grids, strict=True))
    demand, production = fam_cols["demand"], fam_cols["production"]
    actual, baseline = fam_cols["actual_sales"], fam_cols["statistical_baseline"]
    opening = np.zeros(n_fam)
    fam_rows = keep & (measure_code >= 0) & (measure_code < n_fm)
    if n_fam and fam_rows.any():
        f_idx = _family_indexer(fam_vs, fam_pf, values)
        i_opening = FAMILY_INPUT_MEASURES.index("opening_inventory")
        ok = fam_rows & (f_idx >= 0) & ((measure_code != i_opening) | (v_offset == 0))
        # Each row's (measure, family, month) cell, computed in place over all rows; rows
        # that do not count go to one spare cell past the end.
        flat = measure_code * n_fam
        flat += f_idx
        flat *= n_month
        flat += v_offset
        size = n_fm * n_fam * n_month
        flat[~ok] = size
        fam_in = np.bincount(flat, weights=v_value, minlength=size + 1)[:size]
        fam_in = fam_in.reshape(n_fm, n_fam, n_month)
        demand[:], production[:] = fam_in[0], fam_in[1]
        opening = fam_in[i_opening][:, 0]

        # Actual sales and the baseline stay NaN where nothing was stored.
        def known(measure: str, into: np.ndarray) -> None:
            i = FAMILY_INPUT_MEASURES.index(measure)
            seen = np.zeros(n_fam * n_month, dtype=bool)
            seen[flat[ok & (measure_code == i)] - i * n_fam * n_month] = True
            into.fill(np.nan)
            np.copyto(into, fam_in[i], where=seen.reshape(n_fam, n_month))

        known("actual_sales", actual)
        known("statistical_baseline", baseline)
    else:
        demand.fill(0.0)
        production.fill(0.0)
        actual.fill(np.nan)
        baseline.fill(np.nan)

    # ---- stream and company inputs
    st_keep = keep[stream_rows]
    if st_keep.any():
        s_idx = _lookup_runs(stream_vocab, st_vs[st_keep])
        rows = stream_rows[st_keep]
        flat = ((measure_code[rows] - n_fm) * n_stream + s_idx) * n_month + v_offset[rows]
        st_in = np.bincount(
            flat, weights=v_value[rows], minlength=n_sm * n_stream * n_month
        ).reshape(n_sm, n_stream, n_month)
    else:
        st_in = np.zeros((n_sm, n_stream, n_month))
    avail, nonprod, conversion = st_in[0], st_in[1], st_in[2]
    co_rows = keep & (measure_code == n_fm + n_sm)
    sustaining = np.bincount(v_offset[co_rows], weights=v_value[co_rows], minlength=n_month)

    # ---- family formulas
    # I_t = I_{t-1} + P_t - D_t, accumulated in exactly that order: [I0, P1, -D1, P2, ...].
    steps = np.empty((n_fam, 2 * n_month + 1))
    steps[:, 0] = opening
    steps[:, 1::2] = production
    steps[:, 2::2] = -demand
    ending = fam_cols["ending_inventory"]
    ending[:] = np.cumsum(steps, axis=1, out=steps)[:, 2::2]
    months = _month_column(start.ordinal + np.arange(n_month))
    days = np.asarray(months.days_in_month, dtype=float)
    # Daily demand of the next month; the last horizon month uses its own.
    rate = np.empty_like(demand)
    np.divide(demand[:, 1:], days[1:], out=rate[:, :-1])
    np.divide(demand[:, -1], days[-1], out=rate[:, -1])
    _safe_div(ending, rate, out=fam_cols["days_of_supply"])
    fam_cols["opening_inventory"][:] = opening[:, None]
    fam_cols["dos_min"][:], fam_cols["dos_max"][:] = m["dos_min"], m["dos_max"]

    scratch = np.empty_like(demand)

    def by_stream(qty: np.ndarray, factor: np.ndarray | None = None) -> np.ndarray:
        """Σ over each stream's families of qty (× a per-family factor)."""
        if factor is not None:
            qty = np.multiply(qty, factor, out=scratch)
        return _sum_by_group(qty, fam_stream, n_stream)

    st_demand, st_prod = by_stream(demand), by_stream(production)
    required = by_stream(production, m["hours_per_unit"])
    development = _development_hours(plan.development_hours, stream_vocab, start, n_month)
    required = required + development
    revenue = by_stream(demand, m["unit_price"])
    material = by_stream(production, m["unit_material_cost"])
    inv_value = by_stream(ending, m["unit_material_cost"])

    # ---- value stream formulas
    profit = revenue - material - conversion
    utilization = _safe_div(required, avail)
    nonprod_share = _safe_div(nonprod, avail)
    avail_share = _safe_div(avail - required - nonprod, avail)
    ros = _safe_div(profit, revenue)

    # ---- company formulas
    co_revenue = revenue.sum(axis=0)
    co_material = material.sum(axis=0)
    co_conversion = conversion.sum(axis=0)
    co_vs_profit = profit.sum(axis=0)
    co_profit = co_vs_profit - sustaining
    co_inv = inv_value.sum(axis=0)
    inv_0 = float(np.sum(opening * m["unit_material_cost"][:, 0])) if n_fam else 0.0
    cash_flow = co_profit - np.diff(co_inv, prepend=inv_0)

    # ---- frames
    ordinals = months.asi8
    family = block_frame(
        FAMILY_COLUMNS,
        fam_block,
        {
            "value_stream": repeated_codes(fam_vs, n_month),
            "product_family": repeated_codes(fam_pf, n_month),
            "month": _month_column(np.tile(ordinals, n_fam)),
        },
    )
    stream = _grids_frame(
        STREAM_COLUMNS,
        {
            "demand": st_demand,
            "production": st_prod,
            "available_hours": avail,
            "non_productive_hours": nonprod,
            "conversion_cost": conversion,
            "required_hours": required,
            "development_hours": development,
            "utilization": utilization,
            "productive_share": utilization,  # copied: a column of its own
            "non_productive_share": nonprod_share,
            "available_share": avail_share,
            "revenue": revenue,
            "material_cost": material,
            "value_stream_profit": profit,
            "return_on_sales": ros,
            "inventory_value": inv_value,
        },
        {
            "value_stream": repeated_codes(streams, n_month),
            "month": _month_column(np.tile(ordinals, n_stream)),
        },
    )
    company = _grids_frame(
        COMPANY_COLUMNS,
        {
            "sustaining_cost": sustaining,
            "revenue": co_revenue,
            "material_cost": co_material,
            "conversion_cost": co_conversion,
            "value_stream_profit": co_vs_profit,
            "company_profit": co_profit,
            "inventory_value": co_inv,
            "opening_inventory_value": np.full(n_month, inv_0),
            "cash_flow": cash_flow,
        },
        {"month": _month_column(ordinals)},
    )
    return Projection(family=family, stream=stream, company=company)


# --------------------------------------------------------------------------- export


def _long_frame(projection: Projection, *, inputs: bool) -> pd.DataFrame:
    """Build the long export rows in file-contract order (see :func:`export_frame`).

    Text columns repeat a short sequence (streams, families, months) or take from a small
    vocabulary (measures), and values are compressed straight into the value column, so a
    large export allocates each column about once (fresh pages cost more than the copy).
    """
    company = projection.company
    n_month = len(company)
    if n_month == 0:
        return _empty(EXPORT_COLUMNS, {c: "str" for c in EXPORT_COLUMNS[:4]})
    fam, st = projection.family, projection.stream
    n_fam, n_stream = len(fam) // n_month, len(st) // n_month
    if n_fam * n_month != len(fam) or n_stream * n_month != len(st):
        raise ValueError("projection frames must hold every horizon month for every key")

    stream_codes = st["value_stream"].to_numpy(dtype=object)[::n_month]
    fam_vs = fam["value_stream"].to_numpy(dtype=object)[::n_month]
    fam_pf = fam["product_family"].to_numpy(dtype=object)[::n_month]

    def grid(frame: pd.DataFrame, cols: tuple[str, ...], n: int) -> np.ndarray:
        """(key, month, measure) array from a key-major frame."""
        out = np.empty((n, n_month, len(cols)))
        for j, col in enumerate(cols):
            out[:, :, j] = frame[col].to_numpy(dtype=float, na_value=np.nan).reshape(n, n_month)
        return out

    # Family block: family-major, then month, then measure.
    f_measures = _EXPORT_FAMILY_MEASURES if inputs else FAMILY_OUTPUT_MEASURES
    n_fm = len(f_measures)
    f_vals = grid(fam, f_measures, n_fam)
    mask = np.ones(f_vals.shape, dtype=bool)
    if inputs:
        mask[:, 1:, 0] = False  # opening inventory on the first month only
        mask[:, :, 3] = ~np.isnan(f_vals[:, :, 3])  # actual sales only where known
        mask[:, :, 4] = ~np.isnan(f_vals[:, :, 4])  # the baseline only where stored
    per_cell = mask.sum(axis=2)  # rows per family and month
    n_frows = int(per_cell.sum())

    # Stream + company block: month-major; per month every stream, then the company.
    s_measures = _EXPORT_STREAM_MEASURES if inputs else STREAM_OUTPUT_MEASURES
    c_measures = _EXPORT_COMPANY_MEASURES if inputs else COMPANY_OUTPUT_MEASURES
    n_sm, n_cm = len(s_measures), len(c_measures)
    s_vals = grid(st, s_measures, n_stream).transpose(1, 0, 2).reshape(n_month, -1)
    c_vals = grid(company, c_measures, 1).reshape(n_month, -1)
    block = np.concatenate([s_vals, c_vals], axis=1)  # (month, columns)
    width = block.shape[1]
    col_stream = np.r_[np.repeat(np.arange(n_stream), n_sm), np.full(n_cm, n_stream)]
    col_meas = np.r_[np.tile(np.arange(n_sm), n_stream) + n_fm, np.arange(n_cm) + n_fm + n_sm]

    # Family rows first, then the block's rows: each text column repeats a sequence.
    per_family = per_cell.sum(axis=1)
    n_block = n_month * width
    block_vs = np.r_[stream_codes, np.array([""], dtype=object)][col_stream]
    value_stream = _str_index(np.r_[fam_vs, np.tile(block_vs, n_month)]).repeat(
        np.r_[per_family, np.ones(n_block, dtype=np.intp)]
    )
    product_family = _str_index([*fam_pf, ""]).repeat(np.r_[per_family, n_block])
    month_text = list(_periods(company["month"]).strftime("%Y-%m"))
    month = _str_index(month_text * (n_fam + 1)).repeat(
        np.r_[per_cell.ravel(), np.full(n_month, width)]
    )
    f_meas = np.broadcast_to(np.arange(n_fm), mask.shape)[mask]
    meas_idx = np.concatenate([f_meas, np.tile(col_meas, n_month)])
    value = np.empty(n_frows + n_block)
    np.compress(mask.ravel(), f_vals.ravel(), out=value[:n_frows])
    value[n_frows:] = block.ravel()
    measure_vocab = list(f_measures) + list(s_measures) + list(c_measures)
    return _frame(
        {
            "value_stream": value_stream,
            "product_family": product_family,
            "month": month,
            "measure": _str_index(measure_vocab).take(meas_idx),
            "value": value,
        }
    )


def export_frame(projection: Projection) -> pd.DataFrame:
    """Long file-contract frame: every input and computed measure, in export row order.

    Family rows first (per family, per month: opening_inventory on the first month,
    demand, production, actual_sales where known, statistical_baseline where stored,
    ending_inventory, days_of_supply),
    then per month every value stream (sorted) and the company. Columns
    value_stream, product_family, month ("YYYY-MM"), measure, value (NaN = empty).
    """
    return _long_frame(projection, inputs=True)


def computed_frame(projection: Projection) -> pd.DataFrame:
    """Like :func:`export_frame` but computed measures only (the shape of expected.csv)."""
    return _long_frame(projection, inputs=False)


# --------------------------------------------------------------------------- accuracy


def _normalise(df: pd.DataFrame | None, columns: tuple[str, ...]) -> pd.DataFrame:
    """Copy with the given columns, codes as str and months as period[M] (empty-safe)."""
    if df is None or len(df) == 0:
        dtypes = {c: "str" for c in ("value_stream", "product_family")} | {"month": _PERIOD_M}
        return _empty(columns, dtypes)
    out = df.loc[:, list(columns)].copy()
    for c in ("value_stream", "product_family"):
        if c in out:
            out[c] = out[c].fillna("").astype("str")
    out["month"] = _periods(out["month"]).array
    return out


def _error_rates(frame: pd.DataFrame) -> pd.DataFrame:
    frame["wape"] = _safe_div(frame["abs_error"], frame["actual"])
    frame["bias"] = _safe_div(frame["forecast"] - frame["actual"], frame["actual"])
    return frame


def forecast_accuracy(forecasts: pd.DataFrame, actuals: pd.DataFrame) -> Accuracy:
    """Lag-1 accuracy: APE per family, WAPE and bias per value stream and company.

    ``forecasts`` (value_stream, product_family, month, forecast) holds the demand for
    month m from the frozen plan of cycle m-1; ``actuals`` (..., actual) the actual
    sales. Only family-months present in both (and not NaN) are compared.
    """
    keys = ["value_stream", "product_family", "month"]
    f = _normalise(forecasts, (*keys, "forecast"))
    a = _normalise(actuals, (*keys, "actual"))
    fam = f.merge(a, on=keys, how="inner", sort=True)
    fam = fam[fam["forecast"].notna() & fam["actual"].notna()].reset_index(drop=True)
    fam["forecast"] = fam["forecast"].astype(float)
    fam["actual"] = fam["actual"].astype(float)
    fam["abs_error"] = (fam["actual"] - fam["forecast"]).abs()
    fam["abs_pct_error"] = _safe_div(fam["abs_error"], fam["actual"])
    sums = ["forecast", "actual", "abs_error"]
    stream = fam.groupby(["value_stream", "month"], sort=True, as_index=False)[sums].sum()
    company = fam.groupby("month", sort=True, as_index=False)[sums].sum()
    return Accuracy(
        family=fam.loc[:, list(ACCURACY_FAMILY_COLUMNS)],
        stream=_error_rates(stream).loc[:, list(ACCURACY_STREAM_COLUMNS)],
        company=_error_rates(company).loc[:, list(ACCURACY_COMPANY_COLUMNS)],
    )


# --------------------------------------------------------------------------- forecast value added

FVA_COLUMNS = (
    "value_stream",
    "month",
    "actual",
    "naive_wape",
    "baseline_wape",
    "demand_wape",
    "fva_statistics",
    "fva_consensus",
)
FVA_WINDOW_COLUMNS = ("value_stream", "months", *FVA_COLUMNS[2:])
_FVA_FORECASTS = (("naive", "naive_wape"), ("baseline", "baseline_wape"), ("demand", "demand_wape"))


@dataclass(eq=False)
class ForecastValueAdded:
    """Lag-1 WAPE of the naive, baseline and final forecasts and what each step added.

    ``monthly``: one row per value stream and closed month, then the company
    (``value_stream ""``) per month (:data:`FVA_COLUMNS`); ``window``: the same over all
    those months pooled (Σ|A−F| ÷ ΣA over every family-month), per stream then the
    company (:data:`FVA_WINDOW_COLUMNS`, ``months`` = how many closed months count).
    """

    monthly: pd.DataFrame
    window: pd.DataFrame


def _fva_rates(frame: pd.DataFrame) -> pd.DataFrame:
    for name, col in _FVA_FORECASTS:
        frame[col] = _safe_div(frame[f"{name}_err"], frame[f"{name}_act"])
    frame["fva_statistics"] = frame["naive_wape"] - frame["baseline_wape"]
    frame["fva_consensus"] = frame["baseline_wape"] - frame["demand_wape"]
    return frame


def forecast_value_added(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    *,
    months: list | None = None,
    window: bool = True,
) -> ForecastValueAdded:
    """SOFP.md's forecast value added for closed months m (lag 1).

    ``forecasts`` (value_stream, product_family, month, demand, baseline): the demand and
    the statistical baseline for m in the frozen plan of cycle m−1 (NaN where none).
    ``actuals`` (value_stream, product_family, month, actual): actual sales, including the
    months before (the naive forecast N reads the actual of m−12, else of m−1).
    Each forecast's WAPE = Σ|A−F| ÷ ΣA over the family-months where both are known;
    FVA of the statistics = WAPE(N) − WAPE(B), of the consensus = WAPE(B) − WAPE(D)
    (positive: that step improved the forecast). ``months`` limits the closed months
    (default: every month of ``forecasts``). ``window=False`` leaves the pooled window
    empty (the box score reads the monthly rows only).
    """
    keys = ["value_stream", "product_family", "month"]
    f = _normalise(forecasts, (*keys, "demand", "baseline"))
    a = _normalise(actuals, (*keys, "actual"))
    a = a[a["actual"].notna()]
    wanted = pd.PeriodIndex(
        sorted(set(f["month"])) if months is None else list(months), freq="M"
    ).unique()
    rows = a[a["month"].isin(wanted)].merge(f, on=keys, how="left")
    # Seasonal naive: the actual of m−12, else of m−1 (same family).
    known = a.set_index(["product_family", "month"])["actual"]
    known = known[~known.index.duplicated(keep="last")]
    fam = rows["product_family"].to_numpy(object)
    mon = _periods(rows["month"])
    back12 = known.reindex(pd.MultiIndex.from_arrays([fam, mon - 12])).to_numpy(float)
    back1 = known.reindex(pd.MultiIndex.from_arrays([fam, mon - 1])).to_numpy(float)
    rows["naive"] = np.where(np.isnan(back12), back1, back12)
    # Only months a frozen plan forecast (a baseline or a demand for some family).
    planned = rows.groupby("month")[["baseline", "demand"]].count().sum(axis=1)
    rows = rows[rows["month"].isin(planned[planned > 0].index)].reset_index(drop=True)
    actual = rows["actual"].to_numpy(float)
    for name, _ in _FVA_FORECASTS:
        x = rows[name].to_numpy(float)
        ok = ~np.isnan(x)
        rows[f"{name}_err"] = np.where(ok, np.abs(actual - np.nan_to_num(x)), 0.0)
        rows[f"{name}_act"] = np.where(ok, actual, 0.0)
    sums = ["actual"] + [f"{n}_{k}" for n, _ in _FVA_FORECASTS for k in ("err", "act")]

    stream = rows.groupby(["value_stream", "month"], sort=True, as_index=False)[sums].sum()
    company = rows.groupby("month", sort=True, as_index=False)[sums].sum()
    company.insert(0, "value_stream", "")
    monthly = _fva_rates(pd.concat([stream, company], ignore_index=True))
    monthly["month"] = _periods(monthly["month"]).array if len(monthly) else monthly["month"]
    monthly = monthly.loc[:, list(FVA_COLUMNS)].reset_index(drop=True)
    if not window:
        return ForecastValueAdded(
            monthly=monthly,
            window=_empty(FVA_WINDOW_COLUMNS, {"value_stream": "str", "months": "int64"}),
        )

    w_stream = rows.groupby("value_stream", sort=True, as_index=False)[sums].sum()
    w_stream["months"] = (
        rows.groupby("value_stream", sort=True)["month"].nunique().to_numpy(dtype=int)
    )
    w_company = pd.DataFrame([rows[sums].sum()]) if len(rows) else pd.DataFrame(columns=sums)
    w_company.insert(0, "value_stream", "")
    w_company["months"] = rows["month"].nunique()
    pooled = _fva_rates(pd.concat([w_stream, w_company], ignore_index=True))
    pooled = pooled[pooled["months"] > 0] if len(rows) else pooled.iloc[0:0]
    return ForecastValueAdded(
        monthly=monthly,
        window=pooled.loc[:, list(FVA_WINDOW_COLUMNS)]
        .astype({"months": int})
        .reset_index(drop=True),
    )


# --------------------------------------------------------------------------- changes


def _changes(current: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    change = current - previous
    return change, _safe_div(change, np.abs(previous))


def plan_changes(current: Projection, previous: Projection) -> pd.DataFrame:
    """Demand, production and value stream profit against the previous plan.

    One row per value stream, month (present in both) and measure, sorted by value
    stream, month, then measure in :data:`PLAN_CHANGE_MEASURES` order.
    """
    keys = ("value_stream", "month")
    k = len(PLAN_CHANGE_MEASURES)
    joined = _inner_join(current.stream, previous.stream, keys)
    if joined is None:
        cols = [*keys, *PLAN_CHANGE_MEASURES]
        both = current.stream.loc[:, cols].merge(
            previous.stream.loc[:, cols],
            on=list(keys),
            how="inner",
            sort=True,
            suffixes=("_c", "_p"),
        )
        vs, month = both["value_stream"].astype("str").to_numpy(dtype=object), both["month"].array
        cur = both[[f"{m}_c" for m in PLAN_CHANGE_MEASURES]].to_numpy(dtype=float).ravel()
        prev = both[[f"{m}_p" for m in PLAN_CHANGE_MEASURES]].to_numpy(dtype=float).ravel()
    else:
        left, right = joined
        vs = current.stream["value_stream"].to_numpy(dtype=object)[left]  # str: checked
        month = current.stream["month"].array.take(left)

        def measures(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
            """(row, measure) values flattened row-major, as the merged frame's were."""
            out = np.empty((len(rows), k))
            for j, m in enumerate(PLAN_CHANGE_MEASURES):
                out[:, j] = frame[m].to_numpy(dtype=float)[rows]
            return out.ravel()

        cur, prev = measures(current.stream, left), measures(previous.stream, right)
    n = len(month)
    change, pct = _changes(cur, prev)
    rows = np.repeat(np.arange(n), k)
    out = _frame(
        {
            "value_stream": _str_index(vs).take(rows),
            "month": month.take(rows),
            "measure": _str_index(list(PLAN_CHANGE_MEASURES)).take(np.tile(np.arange(k), n)),
            "current": cur,
            "previous": prev,
            "change": change,
            "change_pct": pct,
        }
    )
    return out


def _family_demand_join(
    current: Projection, previous: Projection
) -> tuple[pd.DataFrame | None, np.ndarray, np.ndarray, np.ndarray]:
    """Family-months present in both plans: their keys (None: the rows ``left`` of the
    current family frame), the current and previous demand."""
    keys = ("value_stream", "product_family", "month")
    joined = _inner_join(current.family, previous.family, keys)
    if joined is None:
        both = current.family.loc[:, [*keys, "demand"]].merge(
            previous.family.loc[:, [*keys, "demand"]],
            on=list(keys),
            how="inner",
            sort=True,
            suffixes=("_c", "_p"),
        )
        cur = both["demand_c"].to_numpy(dtype=float)
        prev = both["demand_p"].to_numpy(dtype=float)
        return both.loc[:, list(keys)].reset_index(drop=True), None, cur, prev
    left, right = joined
    cur = current.family["demand"].to_numpy(dtype=float)[left]
    prev = previous.family["demand"].to_numpy(dtype=float)[right]
    return None, left, cur, prev


def family_demand_changes(current: Projection, previous: Projection) -> pd.DataFrame:
    """Family demand against the previous plan, for family-months present in both."""
    keys = ["value_stream", "product_family", "month"]
    out, left, cur, prev = _family_demand_join(current, previous)
    if out is None:
        out = current.family.iloc[left, [current.family.columns.get_loc(c) for c in keys]]
        out = out.reset_index(drop=True)
    change, pct = _changes(cur, prev)
    out["current"], out["previous"], out["change"], out["change_pct"] = cur, prev, change, pct
    return out.loc[:, list(FAMILY_CHANGE_COLUMNS)]


# --------------------------------------------------------------------------- exceptions


def _messages(template: str, *columns: np.ndarray) -> np.ndarray:
    """``template.format(a, b, …)`` for each row of the columns (an object array of str).

    Templates use ``{:,.1f}``: numbers in messages carry thousands separators
    (``Days of supply 1,974.0``), as people read them.
    """
    rows = zip(*(np.asarray(c, dtype=float).tolist() for c in columns), strict=True)
    return np.array([template.format(*row) for row in rows], dtype=object)


def _exception_part(
    kind: str,
    keys: tuple[np.ndarray, np.ndarray | None, np.ndarray],
    mask: np.ndarray,
    value: np.ndarray,
    limit: np.ndarray | float,
    magnitude: np.ndarray,
    message: np.ndarray,
) -> dict[str, np.ndarray]:
    """The rows of one kind of exception, as arrays (joined and sorted in :func:`exceptions`).

    ``keys``: each row's value stream, product family (None: stream rows, "") and month
    ordinal.
    """
    n = int(mask.sum())
    vs, pf, month = keys
    return {
        "kind": np.full(n, KINDS.index(kind)),
        "severity": np.full(n, SEVERITY[kind], dtype=np.int64),
        "value_stream": vs[mask],
        "product_family": np.full(n, "", dtype=object) if pf is None else pf[mask],
        "month": month[mask],
        "value": np.asarray(value, dtype=float)[mask],
        "limit": np.broadcast_to(np.asarray(limit, dtype=float), mask.shape)[mask],
        "distance": np.asarray(magnitude, dtype=float)[mask],
        "message": np.asarray(message, dtype=object),
    }


LAUNCH_COLUMNS = (
    "npd_stream",
    "value_stream",
    "product_family",
    "status",
    "planned_month",
    "committed_month",
)


def _slips(launches: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows of ``launches`` that slipped and how many months late (see
    :func:`launch_slips`); None when no launch is planned with a committed month."""
    if launches is None or not len(launches):
        return None
    rows = np.flatnonzero(launches["status"].to_numpy(dtype=object) == "planned")
    committed = launches["committed_month"]
    if committed.dtype == _PERIOD_M:
        known = committed.array.asi8[rows] != _NAT
    else:
        part = committed.iloc[rows]
        known = (part.notna() & (part.astype(str) != "")).to_numpy(dtype=bool)
    rows = rows[known]
    if not len(rows):
        return None
    late = _ordinals(launches["planned_month"], rows) - _ordinals(committed, rows)
    return rows[late > 0], late[late > 0]


def launch_slips(launches: pd.DataFrame | None) -> pd.DataFrame:
    """Launches of the plan whose planned month is later than their committed month
    (SOFP.md "NPD launches"): ``LAUNCH_COLUMNS`` plus ``months_late`` (whole months).

    ``launches``: one row per launch the cycle holds, ``planned_month`` and
    ``committed_month`` as Periods or "YYYY-MM" (committed empty until a cycle holding
    it is approved). Only launches still planned slip: a launched one is done (its
    lateness shows in on-time launch), a cancelled one is out of the plan.
    """
    slipped = _slips(launches)
    if slipped is None:
        return pd.DataFrame(columns=[*LAUNCH_COLUMNS, "months_late"])
    rows, late = slipped
    f = launches.loc[:, list(LAUNCH_COLUMNS)].take(rows).reset_index(drop=True)
    f["months_late"] = late
    return f


def exceptions(
    projection: Projection,
    previous: Projection | None = None,
    thresholds: Thresholds = Thresholds(),
    launches: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The step-5 exception list, worst first.

    Kinds: overloaded, high_utilization, shortage, dos_below, dos_above, demand_change
    (the last only with a ``previous`` frozen plan), launch_slipped (``launches``: a
    launch planned later than its committed month, on the new family in the receiving
    stream at its planned month; value = months late). Ranked by :func:`band_distance`,
    how far outside its band each one is relative to the band's limit (a shortage
    relative to the month's demand; new demand counts as the farthest), so a 974-day
    supply against a 60-day maximum ranks above a 12% demand change; ties by severity,
    then codes and month. The ``distance`` column holds that figure.
    """
    parts: list[dict[str, np.ndarray]] = []
    st, fam = projection.stream, projection.family
    st_keys = (st["value_stream"].to_numpy(dtype=object), None, _ordinals(st["month"]))
    fam_keys = (
        fam["value_stream"].to_numpy(dtype=object),
        fam["product_family"].to_numpy(dtype=object),
        _ordinals(fam["month"]),
    )

    u = st["utilization"].to_numpy(dtype=float)
    over_lim, warn_lim = thresholds.utilization_over, thresholds.utilization_warn
    with np.errstate(invalid="ignore"):
        over = u > over_lim
        warn = (u > warn_lim) & ~over
    for kind, mask, lim, text in (
        ("overloaded", over, over_lim, "exceeds {}% (overloaded)"),
        ("high_utilization", warn, warn_lim, "is above the {}% warning level"),
    ):
        tail = text.format(f"{lim * 100:g}").replace("{", "{{").replace("}", "}}")
        msg = _messages("Utilization {:,.1f}% " + tail, u[mask] * 100)
        parts.append(_exception_part(kind, st_keys, mask, u, lim, band_distance(u, lim), msg))

    inv = fam["ending_inventory"].to_numpy(dtype=float)
    short = inv < 0
    msg = _messages("Ending inventory {:,.1f} units is below zero (shortage)", inv[short])
    demand = fam["demand"].to_numpy(dtype=float)
    shortfall = band_distance(inv, 0.0, scale=demand)
    parts.append(_exception_part("shortage", fam_keys, short, inv, 0.0, shortfall, msg))

    dos = fam["days_of_supply"].to_numpy(dtype=float)
    lo, hi = fam["dos_min"].to_numpy(dtype=float), fam["dos_max"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        below, above = dos < lo, dos > hi
    for kind, mask, lim, word in (
        ("dos_below", below, lo, "below the minimum"),
        ("dos_above", above, hi, "above the maximum"),
    ):
        msg = _messages(f"Days of supply {{:,.1f}} is {word} of {{:,g}} days", dos[mask], lim[mask])
        parts.append(_exception_part(kind, fam_keys, mask, dos, lim, band_distance(dos, lim), msg))

    if previous is not None:
        ch_keys, left, cur, prev = _family_demand_join(projection, previous)
        if ch_keys is None:
            ch_cols = tuple(key[left] for key in fam_keys)
        else:
            ch_cols = (
                ch_keys["value_stream"].to_numpy(dtype=object),
                ch_keys["product_family"].to_numpy(dtype=object),
                _ordinals(ch_keys["month"]),
            )
        pct = _changes(cur, prev)[1]
        new = (prev == 0) & (cur > 0)
        with np.errstate(invalid="ignore"):
            changed = (np.abs(pct) > thresholds.demand_change) | new
        lim = thresholds.demand_change
        magnitude = np.where(new, np.inf, band_distance(np.abs(pct), lim))
        is_new = new[changed]
        brand_new = _messages(
            "Demand {:,.1f} units is new demand (last frozen plan: 0)", cur[changed][is_new]
        )
        more = f"), more than ±{lim * 100:g}%"
        moved = _messages(
            "Demand {:,.1f} units, {:+,.1f}% against the last frozen plan ({:,.1f}" + more,
            cur[changed][~is_new],
            pct[changed][~is_new] * 100,
            prev[changed][~is_new],
        )
        msg = np.empty(int(changed.sum()), dtype=object)
        msg[is_new], msg[~is_new] = brand_new, moved
        parts.append(_exception_part("demand_change", ch_cols, changed, pct, lim, magnitude, msg))

    slipped = _slips(launches)
    if slipped is not None and len(slipped[0]):
        rows, months_late = slipped
        late = months_late.astype(float)
        planned = _ordinals(launches["planned_month"], rows)
        committed = _ordinals(launches["committed_month"], rows)

        def text(column: str) -> np.ndarray:
            """The column's cells as text, as ``astype(str)`` reads them."""
            cells = launches[column].to_numpy(dtype=object)[rows]
            return np.array([str(x) for x in cells], dtype=object)

        msg = np.array(
            [
                f"Launch slipped {int(n)} month{'s' if n != 1 else ''}: committed "
                f"{c}, now planned {p} (developed by {d})"
                for n, c, p, d in zip(
                    late,
                    _month_column(committed).strftime("%Y-%m"),
                    _month_column(planned).strftime("%Y-%m"),
                    text("npd_stream"),
                    strict=True,
                )
            ],
            dtype=object,
        )
        every = np.ones(len(rows), dtype=bool)
        # Ranked as months late relative to a year (a year's slip is "100% outside").
        distance = late / 12.0
        slip_keys = (text("value_stream"), text("product_family"), planned)
        parts.append(_exception_part("launch_slipped", slip_keys, every, late, 0.0, distance, msg))

    rows = {c: np.concatenate([part[c] for part in parts]) for c in parts[0]}
    if not len(rows["kind"]):
        return _empty(
            EXCEPTION_COLUMNS,
            {"kind": "str", "severity": "int64", "value_stream": "str", "product_family": "str"}
            | {"month": _PERIOD_M, "message": "str", "distance": "float64"},
        )
    # Farthest outside first (NaN last), then severity desc, codes and month; stable.
    vs_code, vs_vocab = pd.factorize(rows["value_stream"], sort=True)
    pf_code, pf_vocab = pd.factorize(rows["product_family"], sort=True)
    distance = np.nan_to_num(rows["distance"], nan=-1.0)
    order = np.lexsort((rows["month"], pf_code, vs_code, -rows["severity"], -distance))
    return _frame(
        {
            "kind": _str_index(KINDS).take(rows["kind"][order]),
            "severity": rows["severity"][order],
            "value_stream": _str_index(vs_vocab).take(vs_code[order]),
            "product_family": _str_index(pf_vocab).take(pf_code[order]),
            "month": _month_column(rows["month"][order]),
            "value": rows["value"][order],
            "limit": rows["limit"][order],
            "message": pd.Index(rows["message"][order], dtype="str"),
            "distance": rows["distance"][order],
        }
    )


def band_distance(
    value: np.ndarray | float,
    limit: np.ndarray | float,
    *,
    scale: np.ndarray | float | None = None,
) -> np.ndarray:
    """How far a value lies outside its band, relative: |value − limit| ÷ |scale|.

    ``scale`` defaults to the limit itself (120% utilization against 100% is 0.2; a
    974-day supply against a 60-day maximum is 15.2). Where the scale is 0 (a shortage
    in a month without demand) the distance is infinite: it cannot be put in
    proportion, so it ranks first. The one ranking rule of the exception list.
    """
    value, limit = np.broadcast_arrays(np.asarray(value, float), np.asarray(limit, float))
    scale_arr = np.abs(
        np.broadcast_to(np.asarray(limit if scale is None else scale, float), value.shape)
    )
    dev = np.abs(value - limit)
    out = np.full(dev.shape, np.inf)
    nz = scale_arr != 0
    out[nz] = dev[nz] / scale_arr[nz]
    out[np.isnan(dev)] = np.nan
    return out


# --------------------------------------------------------------------------- box score

BOX_SCORE_COLUMNS = (
    "value_stream",
    "month",
    # operational
    "revenue",
    "headcount",
    "revenue_per_person",
    "demand",
    "ending_inventory",
    "days_of_supply",
    "accuracy_month",
    "wape",
    "bias",
    "fva_month",
    "naive_wape",
    "baseline_wape",
    "fva_statistics",
    "fva_consensus",
    # capacity
    "available_hours",
    "required_hours",
    "non_productive_hours",
    "productive_share",
    "non_productive_share",
    "available_share",
    # financial
    "material_cost",
    "conversion_cost",
    "inventory_value",
    "value_stream_profit",
    "return_on_sales",
    "sustaining_cost",
    "company_profit",
    "cash_flow",
)


def _aggregate_dos(ending: np.ndarray, demand: np.ndarray, months: pd.PeriodIndex) -> np.ndarray:
    """Days of supply of summed rows (key, month): I_t ÷ (D_{t+1} ÷ days(t+1)), last uses D_H."""
    if ending.size == 0:
        return np.empty_like(ending)
    days = months.days_in_month.to_numpy(dtype=float)
    rate = np.empty_like(demand)
    np.divide(demand[:, 1:], days[1:], out=rate[:, :-1])
    np.divide(demand[:, -1], days[-1], out=rate[:, -1])
    return _safe_div(ending, rate)


def _latest_per_stream(frame: pd.DataFrame) -> pd.DataFrame:
    """Each stream's row of its latest month: what
    ``frame.sort_values(["value_stream", "month"]).groupby("value_stream").tail(1)``
    gives (same rows, order and index), found in one pass over the columns (the sort
    and the groupby cost ~0.3 ms on a few dozen rows). Ties: the later row, as the
    stable sort leaves it last. A missing month or a code that is not a ``str`` (where
    the sort's and the groupby's rules for NaN decide) goes through pandas."""
    months = frame["month"]
    codes = frame["value_stream"].to_numpy(dtype=object)
    if months.dtype != _PERIOD_M or not _is_string_array(codes, skipna=False):
        return frame.sort_values(["value_stream", "month"]).groupby("value_stream").tail(1)
    ordinal = months.array.asi8
    if (ordinal == _NAT).any():
        return frame.sort_values(["value_stream", "month"]).groupby("value_stream").tail(1)
    latest: dict[str, tuple[int, int]] = {}
    for i, (code, month) in enumerate(zip(codes.tolist(), ordinal.tolist(), strict=True)):
        seen = latest.get(code)
        if seen is None or month >= seen[0]:
            latest[code] = (month, i)
    rows = [latest[code][1] for code in sorted(latest)]
    return frame.take(rows)


def _latest_row(frame: pd.DataFrame) -> int | None:
    """Position of the row ``frame.sort_values("month").iloc[-1]`` reads, when the months
    are distinct and present (then no sort order is in question); else None."""
    months = frame["month"]
    if months.dtype != _PERIOD_M:
        return None
    ordinal = months.array.asi8
    if (ordinal == _NAT).any() or len(np.unique(ordinal)) != len(ordinal):
        return None
    return int(np.argmax(ordinal))


def box_score(
    projection: Projection,
    accuracy: Accuracy | None = None,
    headcount: dict[str, float | None] | None = None,
    fva: ForecastValueAdded | None = None,
) -> pd.DataFrame:
    """The lean box score per value stream and month, then the company (``value_stream ""``).

    Operational: revenue, revenue per person (revenue ÷ headcount; company: ÷ the total
    headcount, only when every stream's is known), days of supply of the summed
    inventory (Σ ending inventory ÷ (Σ next-month demand ÷ its days), the last month
    uses its own demand, as for a family), and the latest measured lag-1 forecast
    accuracy (WAPE, bias; ``accuracy_month`` says which month — accuracy is about the
    past, so every horizon month shows the same latest value). Capacity: the shares of
    available hours (productive, non-productive, available; company from summed hours).
    Financial: material, conversion, inventory value, value stream profit and return on
    sales; company rows add sustaining cost, company profit and cash flow, and their
    return on sales is company profit ÷ revenue. Stream rows leave the company-only
    columns empty (NaN). Rows are sorted by stream then month, the company last.
    """
    st, fam, co = projection.stream, projection.family, projection.company
    n_month = len(co)
    months = _periods(co["month"]) if n_month else pd.PeriodIndex([], freq="M")
    n_stream = len(st) // n_month if n_month else 0
    codes = st["value_stream"].to_numpy(dtype=object)[::n_month] if n_month else np.array([])

    # Summed ending inventory per stream and month (families are stream-major).
    ending = np.zeros((n_stream, n_month))
    if len(fam):
        fam_stream = pd.Index(codes, dtype=object).get_indexer(
            fam["value_stream"].to_numpy(dtype=object)
        )
        fam_month = _periods(fam["month"]).asi8 - months[0].ordinal
        np.add.at(ending, (fam_stream, fam_month), fam["ending_inventory"].to_numpy(float))

    def grid(col: str) -> np.ndarray:
        return st[col].to_numpy(dtype=float).reshape(n_stream, n_month)

    demand = grid("demand")
    avail, required, nonprod = (
        grid("available_hours"),
        grid("required_hours"),
        grid("non_productive_hours"),
    )
    revenue = grid("revenue")

    # Company rows as one more "key" appended under the streams.
    co_avail, co_req, co_np = avail.sum(0), required.sum(0), nonprod.sum(0)
    all_ending = np.vstack([ending, ending.sum(0)])
    all_demand = np.vstack([demand, demand.sum(0)])
    all_revenue = np.vstack([revenue, co["revenue"].to_numpy(float)])
    all_avail = np.vstack([avail, co_avail])
    all_req = np.vstack([required, co_req])
    all_np = np.vstack([nonprod, co_np])

    heads = np.array(
        [np.nan if (headcount or {}).get(c) is None else float(headcount[c]) for c in codes]
    )
    co_head = float(heads.sum()) if n_stream and not np.isnan(heads).any() else np.nan
    all_heads = np.r_[heads, co_head] if n_stream else np.array([co_head])

    # Latest measured accuracy per stream and for the company.
    acc_month = np.full(n_stream + 1, pd.NaT, dtype=object)
    wape = np.full(n_stream + 1, np.nan)
    bias = np.full(n_stream + 1, np.nan)
    if accuracy is not None and len(accuracy.stream):
        last = _latest_per_stream(accuracy.stream)
        pos = pd.Index(codes, dtype=object).get_indexer(last["value_stream"].to_numpy(object))
        ok = pos >= 0
        acc_month[pos[ok]] = last["month"].array[ok]
        wape[pos[ok]] = last["wape"].to_numpy(float)[ok]
        bias[pos[ok]] = last["bias"].to_numpy(float)[ok]
    if accuracy is not None and len(accuracy.company):
        row = _latest_row(accuracy.company)
        if row is None:  # pragma: no cover - a repeated or missing month: pandas decides
            last_co = accuracy.company.sort_values("month").iloc[-1]
            acc_month[-1], wape[-1], bias[-1] = last_co["month"], last_co["wape"], last_co["bias"]
        else:
            acc_month[-1] = accuracy.company["month"].array[row]
            wape[-1] = accuracy.company["wape"].to_numpy(float)[row]
            bias[-1] = accuracy.company["bias"].to_numpy(float)[row]

    # Latest measured forecast value added (lag 1), like the accuracy.
    fva_cols = ("naive_wape", "baseline_wape", "fva_statistics", "fva_consensus")
    fva_month = np.full(n_stream + 1, pd.NaT, dtype=object)
    fva_vals = {c: np.full(n_stream + 1, np.nan) for c in fva_cols}
    if fva is not None and len(fva.monthly):
        last = _latest_per_stream(fva.monthly)
        codes_co = pd.Index([*codes, ""], dtype=object)
        pos = codes_co.get_indexer(last["value_stream"].to_numpy(object))
        ok = pos >= 0
        fva_month[pos[ok]] = last["month"].array[ok]
        for c in fva_cols:
            fva_vals[c][pos[ok]] = last[c].to_numpy(float)[ok]

    n_keys = n_stream + 1

    def stream_then_company(stream_col: str, company_col: str | None) -> np.ndarray:
        top = grid(stream_col).ravel() if stream_col else np.full(n_stream * n_month, np.nan)
        bottom = co[company_col].to_numpy(float) if company_col else np.full(n_month, np.nan)
        return np.r_[top, bottom]

    profit = stream_then_company("value_stream_profit", "value_stream_profit")
    co_ros = _safe_div(co["company_profit"].to_numpy(float), co["revenue"].to_numpy(float))
    ros = np.r_[grid("return_on_sales").ravel(), co_ros]
    key_rep = np.repeat(np.arange(n_keys), n_month)
    # Built in BOX_SCORE_COLUMNS' order (a test holds it): no reordering copy after.
    return pd.DataFrame(
        {
            "value_stream": _str_index([*codes, ""]).take(key_rep),
            "month": _month_column(np.tile(months.asi8, n_keys)),
            "revenue": all_revenue.ravel(),
            "headcount": np.repeat(all_heads, n_month),
            "revenue_per_person": _safe_div(all_revenue, all_heads[:, None]).ravel(),
            "demand": all_demand.ravel(),
            "ending_inventory": all_ending.ravel(),
            "days_of_supply": _aggregate_dos(all_ending, all_demand, months).ravel(),
            "accuracy_month": pd.array(np.repeat(acc_month, n_month), dtype=_PERIOD_M),
            "wape": np.repeat(wape, n_month),
            "bias": np.repeat(bias, n_month),
            "fva_month": pd.array(np.repeat(fva_month, n_month), dtype=_PERIOD_M),
            **{c: np.repeat(fva_vals[c], n_month) for c in fva_cols},
            "available_hours": all_avail.ravel(),
            "required_hours": all_req.ravel(),
            "non_productive_hours": all_np.ravel(),
            "productive_share": _safe_div(all_req, all_avail).ravel(),
            "non_productive_share": _safe_div(all_np, all_avail).ravel(),
            "available_share": _safe_div(all_avail - all_req - all_np, all_avail).ravel(),
            "material_cost": stream_then_company("material_cost", "material_cost"),
            "conversion_cost": stream_then_company("conversion_cost", "conversion_cost"),
            "inventory_value": stream_then_company("inventory_value", "inventory_value"),
            "value_stream_profit": profit,
            "return_on_sales": ros,
            "sustaining_cost": stream_then_company("", "sustaining_cost"),
            "company_profit": stream_then_company("", "company_profit"),
            "cash_flow": stream_then_company("", "cash_flow"),
        }
    )
