"""The box score of closed months (SOFP.md "Actuals"): pure pandas/NumPy, no ORM.

Inputs are plain frames (see :func:`closed_box_score`); the result is one row per value
stream and month plus the company rows (``value_stream == ""``), one column per measure.
Every ratio with a zero or unknown denominator is NaN (shown and exported empty), never
an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planning.measures import ACTUAL_STREAM_FACTS

# What export_box_score writes (SOFP.md "More commands"), in this order.
EXPORT_MEASURES: tuple[str, ...] = (
    "on_time_delivery",
    "first_time_through",
    "dock_to_dock_days",
    "revenue_per_person",
    "average_cost_per_unit",
    "actual_revenue",
    "actual_profit",
    "plan_revenue",
    "plan_profit",
    "capacity_wape",
    "capacity_bias",
    "production_wape",
    "demand_wape",
    "demand_bias",
    "fva_statistics",
    "fva_consensus",
    "on_time_launch",
)
# Plan against actual: (label, actual column, plan column).
PLAN_AGAINST_ACTUAL: tuple[tuple[str, str, str], ...] = (
    ("Revenue", "actual_revenue", "plan_revenue"),
    ("Material cost", "actual_material_cost", "plan_material_cost"),
    ("Conversion cost", "actual_conversion_cost", "plan_conversion_cost"),
    ("Profit", "actual_profit", "plan_profit"),
    ("Production (units)", "actual_production", "plan_production"),
    ("Hours", "actual_productive_hours", "plan_hours"),
)
KEYS = ["value_stream", "month"]


def _div(num: pd.Series, den: pd.Series) -> pd.Series:
    """num ÷ den, NaN where den is 0 or unknown."""
    num = num.astype("float64")
    den = den.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num.to_numpy() / den.to_numpy()
    out[~np.isfinite(out)] = np.nan
    return pd.Series(out, index=num.index)


FAMILY_KEYS = ["value_stream", "product_family", "month"]


def wide_last(long: pd.DataFrame, index: list[str], measures: tuple[str, ...]) -> pd.DataFrame:
    """``index`` columns and one column per measure of ``long`` (the last known value of
    each key and measure), sorted by ``index``: the rows of
    ``pivot_table(aggfunc="last").reset_index()`` (keys without any known value of any
    measure dropped; ``measures`` absent are NaN), in a few NumPy steps instead of its
    per-call overhead (the box score is read on every review page)."""
    if not len(long):
        empty = {c: long[c].iloc[:0] if c in long else pd.Series(dtype=object) for c in index}
        return pd.DataFrame(
            {**empty, **{m: pd.Series(dtype="float64") for m in measures}}
        ).reset_index(drop=True)
    # Each key column's sorted codes, combined: sorted codes are the sorted keys.
    parts = [pd.factorize(long[c], sort=True) for c in index]
    combined = np.ravel_multi_index(
        [codes for codes, _ in parts], [max(len(uniques), 1) for _, uniques in parts]
    )
    values = long["value"].to_numpy(dtype="float64")
    known = ~np.isnan(values)
    present, first, row = np.unique(combined[known], return_index=True, return_inverse=True)
    column = pd.Index(list(measures)).get_indexer(long["measure"].to_numpy()[known])
    take = column >= 0
    out = np.full((len(present), len(measures)), np.nan)
    out[row[take], column[take]] = values[known][take]  # repeated keys: the last one wins
    at = np.flatnonzero(known)[first]
    frame = {c: long[c].iloc[at].reset_index(drop=True) for c in index}
    frame.update({m: out[:, i] for i, m in enumerate(measures)})
    return pd.DataFrame(frame)


FAMILY_MEASURES = ("actual_sales", "actual_production", "demand", "production")


def _family_frame(
    actuals: pd.DataFrame, master: pd.DataFrame, plan: pd.DataFrame | None
) -> pd.DataFrame:
    """Per family and month: actual sales and production, plan demand and production
    (facts and plan measures never share a name), with the family's price, material
    cost and hours per unit."""
    long = actuals[actuals["product_family"] != ""]
    if plan is not None and len(plan):
        long = pd.concat([long, plan[plan["product_family"] != ""]], ignore_index=True)
    wide = wide_last(long, FAMILY_KEYS, FAMILY_MEASURES)
    cols = ["product_family", "unit_price", "unit_material_cost", "hours_per_unit"]
    if "month" in master.columns:  # prices per month (each month's cycle copy)
        return wide.merge(master[[*cols, "month"]], how="left", on=["product_family", "month"])
    return wide.merge(master[cols], how="left", on="product_family")


def closed_box_score(
    *,
    actuals: pd.DataFrame,
    master: pd.DataFrame,
    plan: pd.DataFrame | None = None,
    planned_months: pd.DataFrame | None = None,
    development_hours: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Box score of closed months.

    ``actuals``: long facts (value_stream, product_family "" for stream rows, month as a
    Period, measure, value). ``master``: product_family, unit_price, unit_material_cost,
    hours_per_unit (the prices the month is valued at). ``plan``: long values of the
    frozen plan of cycle m−1 for each month m (measures demand, production per family;
    conversion_cost per stream). ``planned_months``: value_stream, month pairs that have
    such a frozen plan (a plan's missing input counts 0 there; elsewhere plan is empty).
    ``development_hours``: value_stream, month (Period), hours — the NPD launches'
    project work that frozen plan holds for the month; plan hours are the plan's
    required hours (production × hours per unit + development hours), as the
    projection computes them.
    """
    fam = _family_frame(actuals, master, plan)
    if planned_months is not None and len(planned_months):
        planned = pd.MultiIndex.from_frame(planned_months[KEYS])
        has_plan = pd.MultiIndex.from_frame(fam[KEYS]).isin(planned)
        for col in ("demand", "production"):
            fam[col] = fam[col].where(~has_plan | fam[col].notna(), 0.0)
    fam["actual_revenue"] = fam["actual_sales"] * fam["unit_price"]
    fam["actual_material_cost"] = fam["actual_production"] * fam["unit_material_cost"]
    fam["plan_revenue"] = fam["demand"] * fam["unit_price"]
    fam["plan_material_cost"] = fam["production"] * fam["unit_material_cost"]
    fam["plan_hours"] = fam["production"] * fam["hours_per_unit"]
    both_p = fam["actual_production"].notna() & fam["production"].notna()
    both_d = fam["actual_sales"].notna() & fam["demand"].notna()
    fam["prod_abs"] = (fam["actual_production"] - fam["production"]).abs().where(both_p)
    fam["prod_a"] = fam["actual_production"].where(both_p)
    fam["dem_abs"] = (fam["actual_sales"] - fam["demand"]).abs().where(both_d)
    fam["dem_err"] = (fam["demand"] - fam["actual_sales"]).where(both_d)
    fam["dem_a"] = fam["actual_sales"].where(both_d)
    sums = (
        "actual_sales",
        "actual_production",
        "actual_revenue",
        "actual_material_cost",
        "plan_revenue",
        "plan_material_cost",
        "plan_hours",
        "production",
        "prod_abs",
        "prod_a",
        "dem_abs",
        "dem_err",
        "dem_a",
    )
    by_stream = fam.groupby(KEYS, sort=True)[list(sums)].sum(min_count=1)
    by_stream = by_stream.rename(columns={"production": "plan_production"})

    st = wide_last(actuals[actuals["product_family"] == ""], KEYS, ACTUAL_STREAM_FACTS).set_index(
        KEYS
    )
    if plan is not None and len(plan):
        conv = plan[plan["measure"] == "conversion_cost"].groupby(KEYS)["value"].last()
    else:
        conv = pd.Series(dtype="float64")
    frame = st.join(by_stream, how="outer")
    frame["plan_conversion_cost"] = conv.reindex(frame.index)
    _add_development_hours(frame, development_hours)
    if planned_months is not None and len(planned_months):
        planned_idx = pd.MultiIndex.from_frame(planned_months[KEYS])
        in_plan = frame.index.isin(planned_idx)
        frame.loc[in_plan, "plan_conversion_cost"] = frame.loc[
            in_plan, "plan_conversion_cost"
        ].fillna(0.0)
    frame = frame.reset_index()
    company = frame.drop(columns=["value_stream"]).groupby("month").sum(min_count=1)
    company["dock_to_dock_days"] = np.nan
    company = company.reset_index()
    company.insert(0, "value_stream", "")
    out = pd.concat([frame, company], ignore_index=True)
    _ratios(out)
    company_capacity_over_streams(out)
    # Company profit rows: value stream profit, summed (sustaining costs apart).
    is_company = out["value_stream"] == ""
    streams = out[~is_company]
    for col in ("actual_profit", "plan_profit"):
        summed = streams.groupby("month")[col].sum(min_count=1)
        out.loc[is_company, col] = summed.reindex(out.loc[is_company, "month"]).to_numpy()
    return out.sort_values(["month", "value_stream"], kind="stable").reset_index(drop=True)


def _add_development_hours(frame: pd.DataFrame, development: pd.DataFrame | None) -> None:
    """Plan hours += the frozen plan's development hours of each stream and month, in
    place (``frame`` indexed by stream and month). A stream and month with development
    hours but no production plan has those hours as its plan hours; rows the frame lacks
    (no facts and no plan) stay absent."""
    if development is None or not len(development):
        return
    dev = development.groupby(KEYS, sort=False)["hours"].sum()
    dev = dev.reindex(frame.index).to_numpy(dtype="float64")
    has = ~np.isnan(dev)
    if not has.any():
        return
    hours = frame["plan_hours"].to_numpy(dtype="float64").copy()
    hours[has] = np.where(np.isnan(hours[has]), 0.0, hours[has]) + dev[has]
    frame["plan_hours"] = hours


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """:func:`_div` on arrays."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


def _ratios(f: pd.DataFrame) -> None:
    """The box score's ratios, in place, from the sums (the same for streams and company):
    computed on the columns' arrays, then set once each."""

    def a(col: str) -> np.ndarray:
        return f[col].to_numpy(dtype="float64")

    revenue, material, conversion = (
        a("actual_revenue"),
        a("actual_material_cost"),
        a("actual_conversion_cost"),
    )
    available, productive, non_productive = (
        a("actual_available_hours"),
        a("actual_productive_hours"),
        a("actual_non_productive_hours"),
    )
    plan_hours = a("plan_hours")
    both = ~np.isnan(productive) & ~np.isnan(plan_hours)
    cap_a = np.where(both, productive, np.nan)
    dem_a = a("dem_a")
    out = {
        "on_time_delivery": _ratio(a("orders_on_time"), a("orders_shipped")),
        "first_time_through": _ratio(a("units_first_time_through"), a("actual_production")),
        "actual_profit": revenue - material - conversion,
        "plan_profit": a("plan_revenue") - a("plan_material_cost") - a("plan_conversion_cost"),
        "revenue_per_person": _ratio(revenue, a("headcount")),
        "average_cost_per_unit": _ratio(material + conversion, a("actual_sales")),
        "productive_share": _ratio(productive, available),
        "non_productive_share": _ratio(non_productive, available),
        "available_share": _ratio(available - productive - non_productive, available),
        "capacity_wape": _ratio(np.abs(cap_a - plan_hours), cap_a),
        "capacity_bias": _ratio(np.where(both, plan_hours, np.nan) - cap_a, cap_a),
        "production_wape": _ratio(a("prod_abs"), a("prod_a")),
        "demand_wape": _ratio(a("dem_abs"), dem_a),
        "demand_bias": _ratio(a("dem_err"), dem_a),
    }
    for col in ("fva_statistics", "fva_consensus", "on_time_launch"):
        if col not in f.columns:
            out[col] = np.full(len(f), np.nan)
    for col, values in out.items():
        f[col] = values


def company_capacity_over_streams(out: pd.DataFrame) -> pd.DataFrame:
    """Company capacity WAPE and bias over streams (Σ|A−F| ÷ ΣA), not of the summed
    hours (streams over and under plan must not cancel)."""
    streams = out[out["value_stream"] != ""]
    both = streams["actual_productive_hours"].notna() & streams["plan_hours"].notna()
    s = streams[both]
    agg = (
        pd.DataFrame(
            {
                "month": s["month"],
                "abs": (s["actual_productive_hours"] - s["plan_hours"]).abs(),
                "err": s["plan_hours"] - s["actual_productive_hours"],
                "a": s["actual_productive_hours"],
            }
        )
        .groupby("month")[["abs", "err", "a"]]
        .sum(min_count=1)
    )
    company = out["value_stream"] == ""
    months = out.loc[company, "month"]
    a = agg["a"].reindex(months).reset_index(drop=True)
    out.loc[company, "capacity_wape"] = _div(
        agg["abs"].reindex(months).reset_index(drop=True), a
    ).to_numpy()
    out.loc[company, "capacity_bias"] = _div(
        agg["err"].reindex(months).reset_index(drop=True), a
    ).to_numpy()
    return out


def box_score_long(wide: pd.DataFrame, measures: tuple[str, ...] = EXPORT_MEASURES) -> pd.DataFrame:
    """``value_stream,month,measure,value`` rows (company rows: value_stream empty)."""
    long = wide.melt(id_vars=KEYS, value_vars=list(measures), var_name="measure")
    order = {m: i for i, m in enumerate(measures)}
    long["_o"] = long["measure"].map(order)
    long["_c"] = long["value_stream"] == ""
    long = long.sort_values(["month", "_c", "value_stream", "_o"], kind="stable")
    return long.drop(columns=["_o", "_c"]).reset_index(drop=True)


# SOFP.md's claimed results of companies that run it well: (measure, label, low, high,
# how the change is measured). Inventory days fall; the rest rise.
CLAIMS: tuple[tuple[str, str, float, float, str], ...] = (
    ("inventory_days", "Inventory", -0.15, -0.10, "relative"),
    ("on_time_delivery", "Customer service (on-time delivery)", 0.01, 0.015, "points"),
    ("cash_flow", "Cash flow", 0.05, 0.05, "relative"),
    ("on_time_launch", "On-time launch", 0.10, 0.10, "points"),  # a rate: in points
)


def sofp_results(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Per closed month: on-time delivery, inventory days (inventory value ÷ (actual
    material cost ÷ days of the month)), cash flow, on-time launch; and each measure's
    change from the first month to the last beside the claim.

    ``frame``: month (Period), on_time_delivery, actual_material_cost, inventory_value,
    cash_flow, on_time_launch (NaN where unknown), one row per month.
    """
    f = frame.sort_values("month").reset_index(drop=True).copy()
    days = pd.Series([m.days_in_month for m in f["month"]], index=f.index, dtype="float64")
    f["inventory_days"] = _div(f["inventory_value"], _div(f["actual_material_cost"], days))
    changes = []
    for measure, label, low, high, how in CLAIMS:
        known = f[measure].dropna()
        first = float(known.iloc[0]) if len(known) else np.nan
        last = float(known.iloc[-1]) if len(known) else np.nan
        if how == "points":
            change = last - first
        else:
            change = (
                (last - first) / abs(first) if first not in (0.0,) and first == first else np.nan
            )
        changes.append(
            {
                "measure": measure,
                "label": label,
                "start": None if first != first else first,
                "now": None if last != last else last,
                "change": None if change != change else change,
                "how": how,
                "claim_low": low,
                "claim_high": high,
            }
        )
    cols = ["month", "on_time_delivery", "inventory_days", "cash_flow", "on_time_launch"]
    return f[cols], changes


def on_time_launch(
    launches: pd.DataFrame, months: list[pd.Period], window: int = 12
) -> pd.DataFrame:
    """On-time launch (SOFP.md "NPD launches") for each closed month m: launches launched
    in or before their committed month ÷ launches whose committed month has passed, over
    the ``window`` closed months ending with m. Per NPD stream and for the company
    (value_stream ""); NaN where no committed month falls in the window.

    ``launches``: npd_stream, status, committed_month, actual_month (Periods or None),
    one row per launch as the record holds it. Cancelled launches count nowhere; one
    still planned after its committed month counts as late.
    """
    cols = ["value_stream", "month", "on_time_launch"]
    if not months:
        return pd.DataFrame(columns=cols)
    f = (
        launches[(launches["status"] != "cancelled") & launches["committed_month"].notna()]
        if len(launches)
        else launches
    )
    rows = []
    streams = sorted(set(f["npd_stream"])) if len(f) else []
    committed = (
        np.array([p.ordinal for p in f["committed_month"]], dtype=np.int64)
        if len(f)
        else np.empty(0, dtype=np.int64)
    )
    actual = (
        np.array(
            [
                p.ordinal if p is not None and p == p else np.iinfo(np.int64).max
                for p in f["actual_month"]
            ],
            dtype=np.int64,
        )
        if len(f)
        else np.empty(0, dtype=np.int64)
    )
    launched = (f["status"] == "launched").to_numpy() if len(f) else np.empty(0, dtype=bool)
    npd = f["npd_stream"].to_numpy(dtype=object) if len(f) else np.empty(0, dtype=object)
    on_time = launched & (actual <= committed)
    for m in months:
        m = pd.Period(m, "M")
        due = (committed <= m.ordinal) & (committed > m.ordinal - window)
        for code in ["", *streams]:
            mask = due if code == "" else due & (npd == code)
            n = int(mask.sum())
            value = float(on_time[mask].sum()) / n if n else np.nan
            rows.append((code, m, value))
    return pd.DataFrame(rows, columns=cols)
