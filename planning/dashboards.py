"""Shaping the engine's frames into the rows and series the dashboards show (pure pandas).

No Django and no formulas: every number comes from :mod:`planning.engine` (projection,
accuracy, changes, exceptions, box score); this module only picks, sums and lays them
out for a page, a table or a chart. ``planning/charts.py`` draws what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from planning.engine import PLAN_CHANGE_MEASURES, Projection, number_or_none
from planning.links import grid_cell_url
from planning.measures import MEASURE_LABELS as LABELS

# Which input cell of the grid (issue 6) sits behind each kind of exception.
EXCEPTION_CELL_MEASURE = {
    "overloaded": "available_hours",
    "high_utilization": "available_hours",
    "shortage": "production",
    "dos_below": "production",
    "dos_above": "production",
    "demand_change": "demand",
    "launch_slipped": "demand",
}
EXCEPTION_LABELS = {
    "overloaded": "Overloaded",
    "high_utilization": "High utilization",
    "shortage": "Shortage",
    "dos_below": "Days of supply low",
    "dos_above": "Days of supply high",
    "demand_change": "Demand changed",
    "launch_slipped": "Launch slipped",
}


@dataclass(frozen=True)
class BoxMetric:
    """One line of the box score table: which column, how to show it, which block."""

    block: str
    label: str
    column: str
    kind: str  # "money", "units", "days", "pct", "number"
    company_only: bool = False
    better: str = "up"  # which direction of change is good ("up", "down", "" = neutral)
    compare: bool = True  # False: not a property of the plan (accuracy is measured)


BOX_METRICS: tuple[BoxMetric, ...] = (
    BoxMetric("Operational", LABELS["revenue"], "revenue", "money"),
    BoxMetric("Operational", "Revenue per person", "revenue_per_person", "money"),
    BoxMetric("Operational", LABELS["days_of_supply"], "days_of_supply", "days", better=""),
    BoxMetric("Operational", "Forecast error (WAPE)", "wape", "pct", better="down", compare=False),
    BoxMetric("Operational", "Forecast bias", "bias", "pct", better="", compare=False),
    BoxMetric("Operational", "Naive forecast error (WAPE)", "naive_wape", "pct", compare=False),
    BoxMetric("Operational", "Baseline error (WAPE)", "baseline_wape", "pct", compare=False),
    BoxMetric("Operational", "FVA of the statistics", "fva_statistics", "dpct", compare=False),
    BoxMetric("Operational", "FVA of the consensus", "fva_consensus", "dpct", compare=False),
    BoxMetric("Capacity", "Productive", "productive_share", "pct", better=""),
    BoxMetric("Capacity", "Non-productive", "non_productive_share", "pct", better="down"),
    BoxMetric("Capacity", "Available", "available_share", "pct", better=""),
    BoxMetric("Financial", LABELS["revenue"], "revenue", "money"),
    BoxMetric("Financial", LABELS["material_cost"], "material_cost", "money", better="down"),
    BoxMetric("Financial", LABELS["conversion_cost"], "conversion_cost", "money", better="down"),
    BoxMetric("Financial", LABELS["inventory_value"], "inventory_value", "money", better="down"),
    BoxMetric("Financial", LABELS["value_stream_profit"], "value_stream_profit", "money"),
    BoxMetric("Financial", LABELS["return_on_sales"], "return_on_sales", "pct"),
    BoxMetric("Financial", LABELS["sustaining_cost"], "sustaining_cost", "money", True, "down"),
    BoxMetric("Financial", LABELS["company_profit"], "company_profit", "money", True),
    BoxMetric("Financial", LABELS["cash_flow"], "cash_flow", "money", True),
)


def month_text(month: pd.Period | object) -> str:
    return "" if pd.isna(month) else pd.Period(month, "M").strftime("%Y-%m")


def grid_url(cycle_label: str, value_stream: str, family: str, month: str, measure: str) -> str:
    """The grid cell behind a number (``planning.links.grid_cell_url``, the one builder).

    Kept per process for each distinct cell (a pure function of its text arguments;
    the exception tables write the same few hundred links on every review)."""
    try:
        return _grid_url(cycle_label, value_stream, family, month, measure)
    except TypeError:  # pragma: no cover - an argument that cannot be a key
        return grid_cell_url(cycle_label, value_stream, family=family, month=month, measure=measure)


@lru_cache(maxsize=8192)
def _grid_url(cycle_label: str, value_stream: str, family: str, month: str, measure: str) -> str:
    return grid_cell_url(cycle_label, value_stream, family=family, month=month, measure=measure)


# --------------------------------------------------------------------------- value stream


def _no_months() -> pd.Series:
    return pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"))


def _pick_family(frame: pd.DataFrame, family: str | None) -> pd.DataFrame:
    if family:
        return frame[frame["product_family"] == family]
    return frame


def demand_series(
    projection: Projection,
    previous: Projection | None,
    actuals: pd.DataFrame,
    *,
    family: str | None = None,
) -> pd.DataFrame:
    """Month, actual (history + any in the horizon), forecast, last approved forecast.

    ``actuals`` are the sales facts (``selectors.actuals.actual_sales_frame``: the
    actuals store, before and inside the horizon); the projection's ``actual_sales``
    column (the plan's own cells) is never read as a fact. One row per month from the
    first month with actuals to the horizon's end. Sums over the stream's families (or
    the one ``family``); NaN where a series has no data.
    """
    fam = _pick_family(projection.family, family)
    forecast = fam.groupby("month", sort=True)["demand"].sum()
    facts = _pick_family(actuals, family) if len(actuals) else actuals
    actual = facts.groupby("month")["actual"].sum() if len(facts) else _no_months()
    prev = _no_months()
    if previous is not None:
        pfam = _pick_family(previous.family, family)
        prev = pfam.groupby("month", sort=True)["demand"].sum()
        if len(prev) and len(forecast):
            # The last approved plan only where it overlaps this horizon (plus one month
            # back, so the dashed line visibly joins the history).
            prev = prev[prev.index >= forecast.index.min() - 1]
    out = pd.DataFrame({"actual": actual, "forecast": forecast, "previous": prev})
    out.index.name = "month"
    out = out.sort_index().reset_index()
    return out


def accuracy_series(accuracy_stream: pd.DataFrame, value_stream: str) -> pd.DataFrame:
    """Month, forecast, actual, wape, bias of one stream (lag-1), oldest first."""
    if accuracy_stream is None or not len(accuracy_stream):
        return pd.DataFrame(columns=["month", "forecast", "actual", "wape", "bias"])
    acc = accuracy_stream[accuracy_stream["value_stream"] == value_stream]
    return acc.sort_values("month").loc[:, ["month", "forecast", "actual", "wape", "bias"]]


def supply_series(
    projection: Projection, box: pd.DataFrame, value_stream: str, *, family: str | None = None
) -> pd.DataFrame:
    """Month, demand, production, ending inventory, days of supply, target band, shortages.

    For one family the family's own numbers and band; for the whole stream the box
    score's aggregate days of supply and a band averaged over the families weighted by
    their demand (a display convention for the band's shading, not a SOFP formula).
    ``short_units`` sums the negative family inventories of a month (NaN when none),
    ``short_families`` names them.
    """
    fam = projection.family[projection.family["value_stream"] == value_stream]
    fam = _pick_family(fam, family)
    by_month = fam.groupby("month", sort=True)
    out = by_month[["demand", "production", "ending_inventory"]].sum()
    if family:
        one = fam.set_index("month")
        out["days_of_supply"] = one["days_of_supply"]
        out["dos_min"], out["dos_max"] = one["dos_min"], one["dos_max"]
    else:
        rows = box[box["value_stream"] == value_stream].set_index("month")
        out["days_of_supply"] = rows["days_of_supply"]
        weight = fam.groupby("product_family")["demand"].transform("sum").to_numpy(float)
        weight = np.where(weight.sum() > 0, weight, 1.0)
        for col in ("dos_min", "dos_max"):
            w = pd.Series(fam[col].to_numpy(float) * weight, index=fam.index)
            out[col] = (
                w.groupby(fam["month"]).sum()
                / pd.Series(weight, index=fam.index).groupby(fam["month"]).sum()
            )
    short = fam[fam["ending_inventory"] < 0]
    out["short_units"] = short.groupby("month")["ending_inventory"].sum()
    out["short_families"] = short.groupby("month")["product_family"].agg(", ".join)
    out["short_families"] = out["short_families"].fillna("")
    return out.reset_index()


CAPACITY_COLUMNS = (
    "required_hours",
    "available_hours",
    "non_productive_hours",
    "utilization",
    "productive_share",
    "non_productive_share",
    "available_share",
)
FINANCIAL_COLUMNS = (
    "revenue",
    "material_cost",
    "conversion_cost",
    "value_stream_profit",
    "return_on_sales",
    "inventory_value",
)


def _stream_series(projection: Projection, value_stream: str, columns: tuple) -> pd.DataFrame:
    """Month and ``columns`` of one value stream's projection, oldest first."""
    st = projection.stream
    rows = st["value_stream"] == value_stream
    return st.loc[rows, ["month", *columns]].reset_index(drop=True)


def capacity_series(projection: Projection, value_stream: str) -> pd.DataFrame:
    return _stream_series(projection, value_stream, CAPACITY_COLUMNS)


def financial_series(projection: Projection, value_stream: str) -> pd.DataFrame:
    return _stream_series(projection, value_stream, FINANCIAL_COLUMNS)


# --------------------------------------------------------------------------- exceptions


def exception_key(kind: str, value_stream: str, family: str, month: str) -> str:
    """The name of one exception, stable while its number moves (acknowledgements)."""
    return f"{kind}:{value_stream}:{family}:{month}"


def exception_rows(
    exceptions: pd.DataFrame, cycle_label: str, *, limit: int | None = None
) -> list[dict]:
    """Exceptions in engine order (farthest outside first) with labels and grid links.

    Read column by column (``tolist`` gives the values ``itertuples`` gave), numbers
    checked on whole arrays and each distinct month formatted once."""
    ex = exceptions if limit is None else exceptions.head(limit)
    cols = ["kind", "severity", "value_stream", "product_family", "month", "value", "limit"]
    cols += ["message"]
    distances = (
        ex["distance"].to_numpy(dtype=float) if "distance" in ex else np.full(len(ex), np.nan)
    )
    kinds, sevs, streams, families, months, values, limits, messages = (
        ex[c].tolist() for c in cols
    )
    values, limits = _numbers(ex["value"], values), _numbers(ex["limit"], limits)
    dists = _numbers(None, distances)
    texts: dict[object, str] = {}
    rows = []
    for kind, sev, vs, pf, month, value, lim, msg, dist, raw in zip(
        kinds,
        sevs,
        streams,
        families,
        months,
        values,
        limits,
        messages,
        dists,
        distances.tolist(),
        strict=True,
    ):
        try:
            m = texts.get(month)
            if m is None:
                m = texts[month] = month_text(month)
        except TypeError:  # pragma: no cover - a month that cannot be a key
            m = month_text(month)
        rows.append(
            {
                "kind": kind,
                "key": exception_key(kind, vs, pf, m),
                "label": EXCEPTION_LABELS.get(kind, kind),
                "severity": int(sev),
                "value_stream": vs,
                "product_family": pf,
                "month": m,
                "value": value,
                "limit": lim,
                "distance": dist,
                "distance_unbounded": bool(np.isinf(raw)) if raw == raw else False,
                "message": msg,
                "url": grid_url(cycle_label, vs, pf, m, EXCEPTION_CELL_MEASURE.get(kind, "demand")),
            }
        )
    return rows


def _numbers(column: pd.Series | None, values) -> list[float | None]:
    """``number_or_none`` of each value: on the array when the column is float (the
    same floats, None where not finite), else value by value."""
    if column is not None and column.dtype != np.float64:
        return [number_or_none(v) for v in values]
    arr = np.asarray(values, dtype=float)
    out: list[float | None] = arr.tolist()
    for i in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[i] = None
    return out


def exception_groups(exceptions: pd.DataFrame) -> list[dict]:
    """How many exceptions of each kind each value stream has (kind order, then stream)."""
    if not len(exceptions):
        return []
    counts = exceptions.groupby(["kind", "value_stream"], observed=True).size()
    order = {k: i for i, k in enumerate(EXCEPTION_LABELS)}
    groups = [
        {"kind": k, "label": EXCEPTION_LABELS.get(k, k), "value_stream": vs, "count": int(n)}
        for (k, vs), n in counts.items()
    ]
    return sorted(groups, key=lambda g: (order.get(g["kind"], 99), g["value_stream"]))


def exception_counts(exceptions: pd.DataFrame) -> dict[str, int]:
    """Number of exceptions per value stream."""
    if not len(exceptions):
        return {}
    return {str(k): int(v) for k, v in exceptions["value_stream"].value_counts().items()}


# --------------------------------------------------------------------------- review


_BOX_LOOKUP_COLUMNS = list(dict.fromkeys(m.column for m in BOX_METRICS))


def _box_lookup(
    frame: pd.DataFrame | None, month: pd.Period, columns: list[tuple[str, str]]
) -> dict[tuple[str, str], float | None]:
    """(code, metric column) → the frame's number in ``month`` (None: undefined or no row).

    Read from the columns' arrays (a boolean filter and ``to_dict("records")`` cost
    ~1 ms a frame); a later row of a code wins, as the dict of records did."""
    if frame is None or not len(frame):
        return {}
    metrics = _BOX_LOOKUP_COLUMNS
    month_col = frame["month"]
    types = dict(zip(frame.columns.tolist(), frame.dtypes.tolist(), strict=True))
    if (
        not isinstance(month, pd.Period)
        or month.freqstr != "M"
        or month_col.dtype != pd.PeriodDtype("M")
        or not frame.columns.is_unique
        or any(types.get(c) != np.float64 for c in metrics)
    ):
        return _box_lookup_pandas(frame, month, columns)
    rows = np.flatnonzero(month_col.array.asi8 == month.ordinal)
    codes = frame["value_stream"].to_numpy(dtype=object)[rows].tolist()
    values = frame[metrics].to_numpy(dtype=float)[rows]
    cells = np.where(np.isfinite(values), values, np.nan).tolist()
    by_code = {
        code: [None if v != v else v for v in row] for code, row in zip(codes, cells, strict=True)
    }
    out: dict[tuple[str, str], float | None] = {}
    for code, _heading in columns:
        row = by_code.get(code)
        for i, col in enumerate(metrics):
            out[(code, col)] = row[i] if row is not None else None
    return out


def _box_lookup_pandas(
    frame: pd.DataFrame, month: pd.Period, columns: list[tuple[str, str]]
) -> dict[tuple[str, str], float | None]:
    """:func:`_box_lookup` through pandas (frames that are not the engine's box score)."""
    at = frame[frame["month"] == month]
    metrics = _BOX_LOOKUP_COLUMNS
    by_code = dict(zip(at["value_stream"], at[metrics].to_dict("records"), strict=True))
    return {
        (code, col): number_or_none(by_code[code][col]) if code in by_code else None
        for code, _heading in columns
        for col in metrics
    }


def box_table(
    box: pd.DataFrame,
    previous_box: pd.DataFrame | None,
    month: pd.Period,
    columns: list[tuple[str, str]],
) -> list[dict]:
    """The box score as table rows: one per metric, a cell per (code, heading) column.

    Each cell holds this plan's value, the last approved plan's value for the same month
    and the difference. Company-only metrics are empty for streams; metrics of a
    column that is not in ``box`` are left out.
    """

    now, before = _box_lookup(box, month, columns), _box_lookup(previous_box, month, columns)
    has_company = any(code == "" for code, _ in columns)
    rows = []
    for m in BOX_METRICS:
        if m.company_only and not has_company:
            continue
        cells = []
        for code, _heading in columns:
            if m.company_only and code != "":
                cells.append({"value": None, "previous": None, "delta": None, "na": True})
                continue
            cur = now.get((code, m.column))
            prev = before.get((code, m.column)) if m.compare else None
            delta = None if cur is None or prev is None else cur - prev
            tone = ""
            if delta and m.better:
                good = delta > 0 if m.better == "up" else delta < 0
                tone = "good" if good else "bad"
            cells.append(
                {"value": cur, "previous": prev, "delta": delta, "tone": tone, "na": False}
            )
        rows.append({"metric": m, "cells": cells})
    return rows


CHANGE_SUMMARY_COLUMNS = ["value_stream", "measure", "current", "previous", "change", "change_pct"]
_SUMMED = ("current", "previous", "change")


def change_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """Horizon totals per value stream and measure, this plan against the last approved.

    Columns value_stream, measure, current, previous, change, change_pct (over the
    months present in both plans; pct against |previous|, NaN when that is 0).

    Summed in plain Python over the columns (a groupby and a sort cost ~1 ms on the
    demo's 150 rows): each group in row order with the compensated (Kahan) sum pandas'
    groupby ``sum`` uses, so every total is its float bit for bit. Frames that are not
    the engine's (a code that is not a ``str``, a measure of no known order, a column
    that is not float) take pandas' path.
    """
    cols = CHANGE_SUMMARY_COLUMNS
    if changes is None or not len(changes):
        return pd.DataFrame(columns=cols)
    order = {m: i for i, m in enumerate(PLAN_CHANGE_MEASURES)}
    streams = changes["value_stream"].to_numpy(dtype=object).tolist()
    measures = changes["measure"].to_numpy(dtype=object).tolist()
    if (
        any(changes[c].dtype != np.float64 for c in _SUMMED)
        or not all(type(v) is str for v in streams)
        or not all(type(m) is str and m in order for m in measures)
    ):
        return _change_summary_pandas(changes)
    columns = [changes[c].to_numpy(dtype=float).tolist() for c in _SUMMED]
    groups: dict[tuple[str, str], int] = {}
    sums: list[list[float]] = []
    for row, key in enumerate(zip(streams, measures, strict=True)):
        g = groups.get(key)
        if g is None:
            g = groups[key] = len(sums)
            sums.append([0.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # three sums, three compensations
        acc = sums[g]
        for j in range(3):
            val = columns[j][row]
            if val != val:  # NaN: skipped, as the groupby's sum skips it
                continue
            y = val - acc[3 + j]
            t = acc[j] + y
            comp = t - acc[j] - y
            acc[3 + j] = 0.0 if comp != comp else comp  # ±inf: no NaN compensation
            acc[j] = t
    keys = list(groups)
    ranked = sorted(range(len(keys)), key=lambda g: (keys[g][0], order[keys[g][1]]))
    total = np.array([sums[g][:3] for g in ranked], dtype=float).reshape(len(ranked), 3)
    prev = np.abs(total[:, 1])
    pct = np.full(len(ranked), np.nan)
    np.divide(total[:, 2], prev, out=pct, where=prev != 0)
    return pd.DataFrame(
        {
            "value_stream": np.array([keys[g][0] for g in ranked], dtype=object),
            "measure": np.array([keys[g][1] for g in ranked], dtype=object),
            "current": total[:, 0],
            "previous": total[:, 1],
            "change": total[:, 2],
            "change_pct": pct,
        }
    )


def _change_summary_pandas(changes: pd.DataFrame) -> pd.DataFrame:
    """:func:`change_summary` through pandas' groupby (frames the plain path leaves).

    Columns value_stream, measure, current, previous, change, change_pct (over the
    months present in both plans; pct against |previous|, NaN when that is 0).
    """
    cols = ["value_stream", "measure", "current", "previous", "change", "change_pct"]
    if changes is None or not len(changes):
        return pd.DataFrame(columns=cols)
    tot = changes.groupby(["value_stream", "measure"], sort=False, as_index=False)[
        ["current", "previous", "change"]
    ].sum()
    prev = tot["previous"].abs().to_numpy(float)
    pct = np.full(len(tot), np.nan)
    np.divide(tot["change"].to_numpy(float), prev, out=pct, where=prev != 0)
    tot["change_pct"] = pct
    order = {m: i for i, m in enumerate(PLAN_CHANGE_MEASURES)}
    tot["_o"] = tot["measure"].map(order)
    return tot.sort_values(["value_stream", "_o"]).loc[:, cols].reset_index(drop=True)


def change_rows(summary: pd.DataFrame) -> list[dict]:
    """One table row per stream: demand, production and profit, each now/before/change."""
    rows: dict[str, dict] = {}
    for vs, measure, cur, prev, change, pct in summary.itertuples(index=False, name=None):
        row = rows.setdefault(vs, {"value_stream": vs, "measures": {}})
        row["measures"][measure] = {
            "current": number_or_none(cur),
            "previous": number_or_none(prev),
            "change": number_or_none(change),
            "change_pct": number_or_none(pct),
        }
    out = []
    for row in rows.values():
        row["cells"] = [row["measures"].get(m) for m in PLAN_CHANGE_MEASURES]
        out.append(row)
    return out


def company_series(projection: Projection) -> pd.DataFrame:
    cols = [
        "month",
        "revenue",
        "value_stream_profit",
        "sustaining_cost",
        "company_profit",
        "cash_flow",
        "inventory_value",
    ]
    return projection.company.loc[:, cols].reset_index(drop=True)


def stream_month_frame(box: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    """Box score rows of the value streams (no company) in one month."""
    at = box[(box["month"] == month) & (box["value_stream"] != "")]
    return at.reset_index(drop=True)


def profit_by_stream(projection: Projection) -> pd.DataFrame:
    """Month × value stream profit (wide), for the stacked horizon chart.

    The frame ``pivot`` gives (months and codes sorted, NaN where a pair is missing),
    laid out from the columns' codes (pivot's stack and unstack cost ~0.5 ms); a
    repeated pair, a missing month or a code that is not a ``str`` go to ``pivot``."""
    st = projection.stream
    if not len(st):
        return pd.DataFrame()
    months, codes = st["month"], st["value_stream"].to_numpy(dtype=object)
    profit = st["value_stream_profit"]
    if (
        months.dtype != pd.PeriodDtype("M")
        or profit.dtype != np.float64
        or not all(type(c) is str for c in codes.tolist())
        or (months.array.asi8 == np.iinfo(np.int64).min).any()
    ):
        return _profit_pivot(st)
    at_month, month_vocab = pd.factorize(months.array, sort=True)
    at_code, code_vocab = pd.factorize(codes, sort=True)
    cell = at_month * len(code_vocab) + at_code
    if len(np.unique(cell)) != len(cell):
        return _profit_pivot(st)  # pivot refuses a repeated pair: so it does here
    wide = np.full((len(month_vocab), len(code_vocab)), np.nan)
    wide[at_month, at_code] = profit.to_numpy(dtype=float)
    return pd.DataFrame(
        wide,
        index=pd.PeriodIndex(month_vocab, name="month"),
        columns=pd.Index(code_vocab, dtype=object, name="value_stream"),
    )


def _profit_pivot(st: pd.DataFrame) -> pd.DataFrame:
    return st.pivot(index="month", columns="value_stream", values="value_stream_profit")


def fva_rows(fva, columns: list[tuple[str, str]]) -> list[dict]:
    """The forecast value added table: per column (company, streams) the latest closed
    month and the last 12 pooled — naive, baseline and final WAPE and both FVAs."""
    latest = (
        fva.monthly.sort_values(["value_stream", "month"]).groupby("value_stream").tail(1)
        if len(fva.monthly)
        else fva.monthly
    )
    by_latest = {r["value_stream"]: r for r in latest.to_dict("records")}
    by_window = {r["value_stream"]: r for r in fva.window.to_dict("records")}
    rows = []
    for code, heading in columns:
        last, window = by_latest.get(code), by_window.get(code)
        rows.append(
            {
                "code": code,
                "heading": heading,
                "month": month_text(last["month"]) if last else "",
                "latest": last,
                "window": window,
            }
        )
    return rows


def fva_series(fva, value_stream: str = "") -> pd.DataFrame:
    """Month, naive, baseline and demand WAPE of one stream ("" = company), oldest first."""
    cols = ["month", "naive_wape", "baseline_wape", "demand_wape"]
    frame = fva.monthly[fva.monthly["value_stream"] == value_stream]
    return frame.sort_values("month").loc[:, cols].reset_index(drop=True)
