"""The engine's array paths for plan changes, family demand changes, exceptions and
launch slips give the very frames the pandas implementations they replaced gave.

The reference functions below are those implementations (``main`` at 3bf0e07), kept here
only to compare against: frames equal exactly (columns, dtypes, index, values bit for
bit) on random plans with stream-level and company-level cells, launches, development
hours, partial overlaps with the previous plan, and on the cases that take pandas'
merge again (a repeated key, a code that is not a ``str``, a missing month, empty
frames).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning import engine
from planning.engine import (
    KINDS,
    LAUNCH_COLUMNS,
    PLAN_CHANGE_MEASURES,
    SEVERITY,
    Thresholds,
    _changes,
    _empty,
    _messages,
    _month_column,
    _periods,
    _str_index,
    band_distance,
)

# --------------------------------------------------------------------------- reference


def ref_plan_changes(current, previous):
    keys = ["value_stream", "month"]
    cols = [*keys, *PLAN_CHANGE_MEASURES]
    both = current.stream.loc[:, cols].merge(
        previous.stream.loc[:, cols], on=keys, how="inner", sort=True, suffixes=("_c", "_p")
    )
    n, k = len(both), len(PLAN_CHANGE_MEASURES)
    cur = both[[f"{m}_c" for m in PLAN_CHANGE_MEASURES]].to_numpy(dtype=float).ravel()
    prev = both[[f"{m}_p" for m in PLAN_CHANGE_MEASURES]].to_numpy(dtype=float).ravel()
    change, pct = _changes(cur, prev)
    rows = np.repeat(np.arange(n), k)
    out = pd.DataFrame(
        {
            "value_stream": both["value_stream"].astype("str").to_numpy()[rows],
            "month": both["month"].array.take(rows),
            "measure": _str_index(list(PLAN_CHANGE_MEASURES)).take(np.tile(np.arange(k), n)),
            "current": cur,
            "previous": prev,
            "change": change,
            "change_pct": pct,
        }
    )
    out["value_stream"] = out["value_stream"].astype("str")
    return out


def ref_family_demand_changes(current, previous):
    keys = ["value_stream", "product_family", "month"]
    both = current.family.loc[:, [*keys, "demand"]].merge(
        previous.family.loc[:, [*keys, "demand"]],
        on=keys,
        how="inner",
        sort=True,
        suffixes=("_c", "_p"),
    )
    cur = both["demand_c"].to_numpy(dtype=float)
    prev = both["demand_p"].to_numpy(dtype=float)
    change, pct = _changes(cur, prev)
    out = both.loc[:, keys].reset_index(drop=True)
    out["current"], out["previous"], out["change"], out["change_pct"] = cur, prev, change, pct
    return out.loc[:, list(engine.FAMILY_CHANGE_COLUMNS)]


def ref_exception_part(kind, frame, mask, value, limit, magnitude, message):
    n = int(mask.sum())
    pf = frame["product_family"].to_numpy(dtype=object)[mask] if "product_family" in frame else ""
    return {
        "kind": np.full(n, KINDS.index(kind)),
        "severity": np.full(n, SEVERITY[kind], dtype=np.int64),
        "value_stream": frame["value_stream"].to_numpy(dtype=object)[mask],
        "product_family": np.broadcast_to(np.asarray(pf, dtype=object), (n,)),
        "month": _periods(frame["month"]).asi8[mask],
        "value": np.asarray(value, dtype=float)[mask],
        "limit": np.broadcast_to(np.asarray(limit, dtype=float), mask.shape)[mask],
        "distance": np.asarray(magnitude, dtype=float)[mask],
        "message": np.asarray(message, dtype=object),
    }


def ref_launch_slips(launches):
    cols = [*LAUNCH_COLUMNS, "months_late"]
    if launches is None or not len(launches):
        return pd.DataFrame(columns=cols)
    f = launches.loc[launches["status"] == "planned", list(LAUNCH_COLUMNS)].copy()
    committed = f["committed_month"].notna() & (f["committed_month"].astype(str) != "")
    f = f[committed]
    if not len(f):
        return pd.DataFrame(columns=cols)
    late = _periods(f["planned_month"]).asi8 - _periods(f["committed_month"]).asi8
    f["months_late"] = late
    return f[late > 0].reset_index(drop=True)


def ref_exceptions(projection, previous, thresholds, launches):
    parts = []
    st, fam = projection.stream, projection.family
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
        parts.append(ref_exception_part(kind, st, mask, u, lim, band_distance(u, lim), msg))
    inv = fam["ending_inventory"].to_numpy(dtype=float)
    short = inv < 0
    msg = _messages("Ending inventory {:,.1f} units is below zero (shortage)", inv[short])
    demand = fam["demand"].to_numpy(dtype=float)
    shortfall = band_distance(inv, 0.0, scale=demand)
    parts.append(ref_exception_part("shortage", fam, short, inv, 0.0, shortfall, msg))
    dos = fam["days_of_supply"].to_numpy(dtype=float)
    lo, hi = fam["dos_min"].to_numpy(dtype=float), fam["dos_max"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        below, above = dos < lo, dos > hi
    for kind, mask, lim, word in (
        ("dos_below", below, lo, "below the minimum"),
        ("dos_above", above, hi, "above the maximum"),
    ):
        msg = _messages(f"Days of supply {{:,.1f}} is {word} of {{:,g}} days", dos[mask], lim[mask])
        parts.append(ref_exception_part(kind, fam, mask, dos, lim, band_distance(dos, lim), msg))
    if previous is not None:
        ch = ref_family_demand_changes(projection, previous)
        cur, prev = ch["current"].to_numpy(float), ch["previous"].to_numpy(float)
        pct = ch["change_pct"].to_numpy(float)
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
        parts.append(ref_exception_part("demand_change", ch, changed, pct, lim, magnitude, msg))
    slips = ref_launch_slips(launches)
    if len(slips):
        late = slips["months_late"].to_numpy(dtype=float)
        frame = pd.DataFrame(
            {
                "value_stream": slips["value_stream"].astype(str).to_numpy(dtype=object),
                "product_family": slips["product_family"].astype(str).to_numpy(dtype=object),
                "month": _periods(slips["planned_month"]),
            }
        )
        msg = np.array(
            [
                f"Launch slipped {int(n)} month{'s' if n != 1 else ''}: committed "
                f"{c}, now planned {p} (developed by {d})"
                for n, c, p, d in zip(
                    late,
                    _periods(slips["committed_month"]).strftime("%Y-%m"),
                    _periods(slips["planned_month"]).strftime("%Y-%m"),
                    slips["npd_stream"].astype(str),
                    strict=True,
                )
            ],
            dtype=object,
        )
        every = np.ones(len(frame), dtype=bool)
        parts.append(
            ref_exception_part("launch_slipped", frame, every, late, 0.0, late / 12.0, msg)
        )
    rows = {c: np.concatenate([part[c] for part in parts]) for c in parts[0]}
    if not len(rows["kind"]):
        return _empty(
            engine.EXCEPTION_COLUMNS,
            {"kind": "str", "severity": "int64", "value_stream": "str", "product_family": "str"}
            | {"month": pd.PeriodDtype("M"), "message": "str", "distance": "float64"},
        )
    vs_code, vs_vocab = pd.factorize(rows["value_stream"], sort=True)
    pf_code, pf_vocab = pd.factorize(rows["product_family"], sort=True)
    distance = np.nan_to_num(rows["distance"], nan=-1.0)
    order = np.lexsort((rows["month"], pf_code, vs_code, -rows["severity"], -distance))
    return pd.DataFrame(
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
        },
        copy=False,
    )


# --------------------------------------------------------------------------- plans


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.dtypes) == list(b.dtypes)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f":  # bit for bit: -0.0 and NaN payloads too
            assert np.array_equal(x.view(np.int64), y.view(np.int64)), col


def _random_plan(rng: np.random.Generator, *, start: pd.Period, horizon: int, streams, n_fam):
    fam_vs = [streams[int(rng.integers(len(streams)))] for _ in range(n_fam)] if streams else []
    fam_pf = [f"F{i:03d}" for i in range(len(fam_vs))]
    master = pd.DataFrame(
        {
            "value_stream": fam_vs,
            "product_family": fam_pf,
            "unit_price": rng.uniform(1, 100, len(fam_vs)).round(2),
            "unit_material_cost": rng.uniform(1, 50, len(fam_vs)).round(2),
            "hours_per_unit": rng.uniform(0, 2, len(fam_vs)).round(3),
            "dos_min": 10.0,
            "dos_max": 30.0,
        }
    )
    rows = []
    for vs, pf in zip(fam_vs, fam_pf, strict=True):
        for m in range(horizon):
            for measure in ("demand", "production"):
                if rng.random() < 0.8:  # some cells empty: 0, new demand, shortages
                    rows.append((vs, pf, start + m, measure, float(rng.integers(0, 300))))
        rows.append((vs, pf, start, "opening_inventory", float(rng.integers(0, 200))))
    for vs in streams:
        for m in range(horizon):
            for measure in ("available_hours", "non_productive_hours", "conversion_cost"):
                if rng.random() < 0.7:
                    rows.append((vs, "", start + m, measure, float(rng.integers(0, 400))))
    for m in range(horizon):
        rows.append(("", "", start + m, "sustaining_cost", float(rng.integers(0, 1000))))
    values = pd.DataFrame(rows, columns=list(engine.VALUE_COLUMNS))
    values["month"] = pd.PeriodIndex(values["month"], freq="M") if rows else values["month"]
    dev = None
    if streams and rng.random() < 0.5:
        dev = pd.DataFrame(
            {
                "value_stream": [streams[0]] * 4,
                "month": [start + i for i in range(4)],
                "hours": rng.uniform(0, 300, 4),
            }
        )
    plan = engine.PlanInput(start, horizon, master, values, development_hours=dev)
    return engine.project(plan)


def _random_launches(rng: np.random.Generator, start: pd.Period, streams, n: int, text: bool):
    statuses = np.array(["planned", "launched", "cancelled"], dtype=object)
    rows = []
    for i in range(n):
        planned = start + int(rng.integers(-3, 12))
        committed = None if rng.random() < 0.3 else planned - int(rng.integers(-3, 6))
        rows.append(
            {
                "npd_stream": "NPD",
                "value_stream": streams[i % len(streams)] if streams else "S0",
                "product_family": f"L{i}",
                "status": statuses[int(rng.integers(3)) if rng.random() < 0.5 else 0],
                "planned_month": str(planned) if text else planned,
                "committed_month": (
                    ("" if committed is None else str(committed)) if text else committed
                ),
                "actual_month": None,
            }
        )
    frame = pd.DataFrame(rows)
    if not text and n:
        for col in ("planned_month", "committed_month", "actual_month"):
            frame[col] = pd.array(frame[col], dtype=pd.PeriodDtype("M"))
    return frame


_DEFAULTS = Thresholds()


def _check(cur, prev, launches, thresholds=_DEFAULTS):
    _same(engine.plan_changes(cur, prev), ref_plan_changes(cur, prev))
    _same(engine.family_demand_changes(cur, prev), ref_family_demand_changes(cur, prev))
    _same(engine.launch_slips(launches), ref_launch_slips(launches))
    for before in (prev, None):
        _same(
            engine.exceptions(cur, before, thresholds, launches=launches),
            ref_exceptions(cur, before, thresholds, launches=launches),
        )


@pytest.mark.parametrize("seed", range(40))
def test_random_plans_give_the_frames_of_the_pandas_implementation(seed):
    rng = np.random.default_rng(seed)
    start = pd.Period("2027-01", "M") + int(rng.integers(-2, 3))
    n_stream = int(rng.integers(0 if seed % 10 == 0 else 1, 5))
    streams = [f"S{i}" for i in range(n_stream)]
    n_fam = int(rng.integers(0 if seed % 7 == 0 else 1, 12)) if streams else 0
    horizon = int(rng.integers(3, 19))
    cur = _random_plan(rng, start=start, horizon=horizon, streams=streams, n_fam=n_fam)
    # The last approved plan: a month earlier, another horizon, other streams and families.
    prev_streams = streams[: max(len(streams) - 1, 0)] + (["OLD"] if seed % 3 == 0 else [])
    prev = _random_plan(
        rng,
        start=start - int(rng.integers(0, 3)),
        horizon=int(rng.integers(3, 19)),
        streams=prev_streams,
        n_fam=int(rng.integers(0, 12)) if prev_streams else 0,
    )
    launches = _random_launches(rng, start, streams, int(rng.integers(0, 6)), text=seed % 2 == 1)
    thresholds = Thresholds(0.5, 0.8, 0.05) if seed % 4 == 0 else Thresholds()
    _check(cur, prev, launches, thresholds)


def test_a_plan_against_itself_and_empty_plans():
    rng = np.random.default_rng(99)
    start = pd.Period("2027-01", "M")
    cur = _random_plan(rng, start=start, horizon=12, streams=["A", "B"], n_fam=6)
    empty = _random_plan(rng, start=start, horizon=12, streams=[], n_fam=0)
    for a, b in ((cur, cur), (cur, empty), (empty, cur), (empty, empty)):
        _check(a, b, None)
        _check(a, b, pd.DataFrame(columns=[*LAUNCH_COLUMNS, "actual_month"]))


def _with(frame: pd.DataFrame, **changes) -> pd.DataFrame:
    out = frame.copy()
    for col, (row, value) in changes.items():
        out[col] = out[col].astype(object) if value is None else out[col]
        out.loc[row, col] = value
    return out


def test_frames_the_array_join_leaves_to_pandas_give_the_same_answer():
    rng = np.random.default_rng(7)
    start = pd.Period("2027-01", "M")
    cur = _random_plan(rng, start=start, horizon=6, streams=["A", "B"], n_fam=4)
    prev = _random_plan(rng, start=start, horizon=6, streams=["A", "B"], n_fam=4)
    repeated = engine.Projection(
        family=pd.concat([prev.family, prev.family.iloc[:3]], ignore_index=True),
        stream=pd.concat([prev.stream, prev.stream.iloc[:2]], ignore_index=True),
        company=prev.company,
    )
    missing_code = engine.Projection(
        family=_with(prev.family, product_family=(1, None)),
        stream=_with(prev.stream, value_stream=(0, None)),
        company=prev.company,
    )
    nat = engine.Projection(
        family=_with(prev.family, month=(0, pd.NaT)),
        stream=_with(prev.stream, month=(1, pd.NaT)),
        company=prev.company,
    )
    text_months = engine.Projection(
        family=prev.family.assign(month=prev.family["month"].astype(str)),
        stream=prev.stream.assign(month=prev.stream["month"].astype(str)),
        company=prev.company,
    )
    unsorted = engine.Projection(
        family=prev.family.sample(frac=1.0, random_state=1).reset_index(drop=True),
        stream=prev.stream.sample(frac=1.0, random_state=2).reset_index(drop=True),
        company=prev.company,
    )
    for other in (repeated, missing_code, nat, unsorted):
        _check(cur, other, None)
        _check(other, cur, None)
    # Text months against Periods: pandas refuses that merge, and so does the engine.
    for a, b in ((cur, text_months), (text_months, cur)):
        with pytest.raises(ValueError):
            ref_plan_changes(a, b)
        with pytest.raises(ValueError):
            engine.plan_changes(a, b)


def test_launch_slips_read_text_and_period_months_as_before():
    launches = pd.DataFrame(
        {
            "npd_stream": ["NPD"] * 6,
            "value_stream": ["A", "A", "B", "B", "A", "B"],
            "product_family": ["L1", "L2", "L3", "L4", "L5", "L6"],
            "status": ["planned", "planned", "launched", "planned", "planned", "planned"],
            "planned_month": ["2027-05", "2027-03", "2027-09", "2027-04", "2027-02", "2027-08"],
            "committed_month": ["2027-02", "", "2027-01", None, "2027-02", "2027-06"],
        }
    )
    _same(engine.launch_slips(launches), ref_launch_slips(launches))
    assert engine.launch_slips(launches)["product_family"].tolist() == ["L1", "L6"]
    none_slipped = launches.assign(committed_month=launches["planned_month"])
    _same(engine.launch_slips(none_slipped), ref_launch_slips(none_slipped))
    assert not len(engine.launch_slips(none_slipped))
    nothing_committed = launches.assign(committed_month="")
    _same(engine.launch_slips(nothing_committed), ref_launch_slips(nothing_committed))
