"""Tests of the planning engine against the formulas of SOFP.md (no Django, no database)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.engine import (
    ACCURACY_COMPANY_COLUMNS,
    ACCURACY_FAMILY_COLUMNS,
    ACCURACY_STREAM_COLUMNS,
    COMPANY_COLUMNS,
    EXCEPTION_COLUMNS,
    FAMILY_COLUMNS,
    STREAM_COLUMNS,
    PlanInput,
    Thresholds,
    band_distance,
    computed_frame,
    exceptions,
    export_frame,
    family_demand_changes,
    forecast_accuracy,
    plan_changes,
    project,
)
from tests.worked_example import example_dir


def month(text: str) -> pd.Period:
    return pd.Period(text, freq="M")


def master_frame(*rows: tuple) -> pd.DataFrame:
    """rows: (vs, pf, price, material, hours, dos_min, dos_max)."""
    return pd.DataFrame(
        list(rows),
        columns=[
            "value_stream",
            "product_family",
            "unit_price",
            "unit_material_cost",
            "hours_per_unit",
            "dos_min",
            "dos_max",
        ],
    )


def values_frame(*rows: tuple) -> pd.DataFrame:
    """rows: (vs, pf, 'YYYY-MM', measure, value)."""
    df = pd.DataFrame(
        list(rows), columns=["value_stream", "product_family", "month", "measure", "value"]
    )
    df["month"] = pd.PeriodIndex(df["month"], freq="M")
    df["value"] = df["value"].astype(float)
    return df


def family_series(vs: str, pf: str, start: str, measure: str, values: list[float]) -> list[tuple]:
    first = month(start)
    return [(vs, pf, str(first + i), measure, v) for i, v in enumerate(values)]


def stream_series(vs: str, start: str, measure: str, values: list[float]) -> list[tuple]:
    return family_series(vs, "", start, measure, values)


def run(master: pd.DataFrame, values: pd.DataFrame, start: str, horizon: int, **kw):
    return project(PlanInput(month(start), horizon, master, values, **kw))


def col(frame: pd.DataFrame, name: str, **keys: str) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in keys.items():
        mask &= (frame[k] == v).to_numpy()
    return frame.loc[mask, name].to_numpy(dtype=float)


# --------------------------------------------------------------------------- family


def simple_plan(demand, production, opening, start="2027-01", horizon=None, **master_kw):
    params = {"price": 10.0, "material": 4.0, "hours": 0.5, "dos_min": 10.0, "dos_max": 30.0}
    params.update(master_kw)
    master = master_frame(("V1", "F1", *params.values()))
    rows = family_series("V1", "F1", start, "demand", demand)
    rows += family_series("V1", "F1", start, "production", production)
    rows.append(("V1", "F1", start, "opening_inventory", opening))
    return run(master, values_frame(*rows), start, horizon or len(demand))


def test_ending_inventory_rolls_forward_from_opening_inventory():
    proj = simple_plan([5, 5, 5], [0, 3, 10], opening=10)
    np.testing.assert_allclose(proj.family["ending_inventory"], [5, 3, 8])
    np.testing.assert_allclose(proj.family["opening_inventory"], [10, 10, 10])


def test_days_of_supply_uses_next_month_daily_demand_and_its_length():
    # 2027: Feb has 28 days, Mar 31. Opening 100, no production.
    proj = simple_plan([10, 28, 62], [0, 0, 0], opening=100)
    ending = np.array([90, 62, 0])
    dos = proj.family["days_of_supply"].to_numpy()
    assert dos[0] == pytest.approx(ending[0] / (28 / 28))  # Feb: 28 units over 28 days
    assert dos[1] == pytest.approx(ending[1] / (62 / 31))  # Mar: 62 over 31 days
    # last horizon month: its own demand over its own days
    assert dos[2] == pytest.approx(0 / (62 / 31))


def test_days_of_supply_in_a_leap_february():
    # 2028 is a leap year: February has 29 days.
    proj = simple_plan([10, 29, 31], [0, 0, 0], opening=100, start="2028-01")
    dos = proj.family["days_of_supply"].to_numpy()
    assert dos[0] == pytest.approx(90 / (29 / 29))
    assert dos[1] == pytest.approx(61 / (31 / 31))


def test_days_of_supply_last_month_uses_its_own_demand_and_days():
    # Apr (30) May (31) Jun (30); horizon 3 ends in June: 60 units / 30 days = 2 per day.
    proj = simple_plan([0, 0, 60], [0, 0, 0], opening=100, start="2027-04")
    dos = proj.family["days_of_supply"].to_numpy()
    assert dos[2] == pytest.approx(40 / 2)
    assert math.isnan(dos[0])  # May demand is 0 -> undefined
    assert dos[1] == pytest.approx(100 / 2)  # June rate


def test_zero_demand_gives_empty_days_of_supply_never_inf_or_error():
    with np.errstate(all="raise"):
        proj = simple_plan([0, 0, 0], [0, 0, 0], opening=5)
        exported = export_frame(proj)
    dos = proj.family["days_of_supply"].to_numpy()
    assert np.isnan(dos).all()
    assert not np.isinf(exported["value"].to_numpy()).any()
    assert exported["measure"].eq("days_of_supply").sum() == 3  # rows kept, values empty


def test_missing_inputs_count_as_zero_and_actuals_stay_empty():
    master = master_frame(("V1", "F1", 10, 4, 0.5, 10, 30))
    values = values_frame(
        ("V1", "F1", "2027-02", "demand", 7),
        ("V1", "F1", "2026-12", "actual_sales", 99),  # before the horizon: not projected
        ("V1", "F1", "2027-01", "actual_sales", 3),
        ("V1", "F1", "2027-07", "demand", 1000),  # after the horizon: ignored
    )
    proj = run(master, values, "2027-01", 3)
    fam = proj.family
    assert list(fam["month"]) == [month("2027-01"), month("2027-02"), month("2027-03")]
    np.testing.assert_allclose(fam["demand"], [0, 7, 0])
    np.testing.assert_allclose(fam["production"], [0, 0, 0])
    np.testing.assert_allclose(fam["ending_inventory"], [0, -7, -7])
    assert fam["actual_sales"].iloc[0] == 3
    assert fam["actual_sales"].iloc[1:].isna().all()
    assert proj.stream["available_hours"].eq(0).all()
    assert proj.company["sustaining_cost"].eq(0).all()


def test_frames_have_the_contract_columns_and_dtypes():
    proj = simple_plan([1, 2, 3], [1, 2, 3], opening=0)
    assert tuple(proj.family.columns) == FAMILY_COLUMNS
    assert tuple(proj.stream.columns) == STREAM_COLUMNS
    assert tuple(proj.company.columns) == COMPANY_COLUMNS
    for frame in (proj.family, proj.stream, proj.company):
        assert frame["month"].dtype == pd.PeriodDtype("M")
    assert proj.family["value_stream"].iloc[0] == "V1"
    assert proj.family["demand"].dtype == np.float64


def test_horizon_outside_3_to_36_is_rejected():
    with pytest.raises(ValueError):
        simple_plan([1, 2], [1, 2], opening=0)


# --------------------------------------------------------------------------- streams


def two_stream_plan():
    """V1 with two families, V2 with one, V3 with no family and no hours."""
    master = master_frame(
        ("V1", "A", 10.0, 4.0, 0.5, 10, 30),
        ("V1", "B", 20.0, 5.0, 2.0, 10, 30),
        ("V2", "C", 8.0, 3.0, 1.0, 10, 30),
    )
    rows = [
        *family_series("V1", "A", "2027-01", "demand", [10, 20, 30]),
        *family_series("V1", "A", "2027-01", "production", [12, 18, 30]),
        *family_series("V1", "B", "2027-01", "demand", [5, 5, 5]),
        *family_series("V1", "B", "2027-01", "production", [4, 6, 5]),
        *family_series("V2", "C", "2027-01", "demand", [0, 0, 0]),
        *family_series("V2", "C", "2027-01", "production", [1, 1, 1]),
        ("V1", "A", "2027-01", "opening_inventory", 3),
        ("V1", "B", "2027-01", "opening_inventory", 2),
        ("V2", "C", "2027-01", "opening_inventory", 1),
        *stream_series("V1", "2027-01", "available_hours", [20, 20, 0]),
        *stream_series("V1", "2027-01", "non_productive_hours", [2, 2, 0]),
        *stream_series("V1", "2027-01", "conversion_cost", [50, 50, 50]),
        *stream_series("V2", "2027-01", "available_hours", [4, 4, 4]),
        *stream_series("V2", "2027-01", "conversion_cost", [7, 7, 7]),
        *family_series("", "", "2027-01", "sustaining_cost", [30, 0, 10]),
    ]
    return run(master, values_frame(*rows), "2027-01", 3, value_streams=("V3",))


def test_value_stream_capacity_hand_worked():
    s = two_stream_plan().stream
    # Jan V1: R = 12*0.5 + 4*2 = 14, A = 20, N = 2
    assert col(s, "required_hours", value_stream="V1")[0] == pytest.approx(14)
    assert col(s, "utilization", value_stream="V1")[0] == pytest.approx(14 / 20)
    assert col(s, "productive_share", value_stream="V1")[0] == pytest.approx(14 / 20)
    assert col(s, "non_productive_share", value_stream="V1")[0] == pytest.approx(2 / 20)
    assert col(s, "available_share", value_stream="V1")[0] == pytest.approx(4 / 20)
    # Mar V1 has A = 0: utilization and every share undefined
    for name in ("utilization", "productive_share", "non_productive_share", "available_share"):
        assert math.isnan(col(s, name, value_stream="V1")[2])
    # V2: R = 1 h of 4 h; available share may go negative only when overloaded
    np.testing.assert_allclose(col(s, "utilization", value_stream="V2"), [0.25] * 3)
    np.testing.assert_allclose(col(s, "demand", value_stream="V1"), [15, 25, 35])
    np.testing.assert_allclose(col(s, "production", value_stream="V1"), [16, 24, 35])


def test_value_stream_financials_hand_worked():
    s = two_stream_plan().stream
    # Jan V1: revenue 10*10 + 5*20 = 200; material 12*4 + 4*5 = 68; C = 50
    assert col(s, "revenue", value_stream="V1")[0] == pytest.approx(200)
    assert col(s, "material_cost", value_stream="V1")[0] == pytest.approx(68)
    assert col(s, "value_stream_profit", value_stream="V1")[0] == pytest.approx(82)
    assert col(s, "return_on_sales", value_stream="V1")[0] == pytest.approx(82 / 200)
    # inventory: A 3+12-10 = 5, B 2+4-5 = 1 -> 5*4 + 1*5 = 25
    assert col(s, "inventory_value", value_stream="V1")[0] == pytest.approx(25)
    # V2 sells nothing: revenue 0 -> ROS undefined, profit = -material - C
    assert np.isnan(col(s, "return_on_sales", value_stream="V2")).all()
    np.testing.assert_allclose(col(s, "value_stream_profit", value_stream="V2"), [-10] * 3)


def test_stream_without_families_is_included_with_zeros_and_empty_ratios():
    s = two_stream_plan().stream
    assert sorted(set(s["value_stream"])) == ["V1", "V2", "V3"]
    np.testing.assert_allclose(col(s, "revenue", value_stream="V3"), [0, 0, 0])
    assert np.isnan(col(s, "utilization", value_stream="V3")).all()
    assert np.isnan(col(s, "return_on_sales", value_stream="V3")).all()


def test_company_roll_up_and_cash_flow_hand_worked():
    proj = two_stream_plan()
    c = proj.company
    # IV_0 = 3*4 + 2*5 + 1*3 = 25
    assert c["opening_inventory_value"].iloc[0] == pytest.approx(25)
    # Jan: revenue 200 (+0); profits 82 + (-10) = 72; S = 30 -> 42
    assert c["revenue"].iloc[0] == pytest.approx(200)
    assert c["company_profit"].iloc[0] == pytest.approx(42)
    # Jan IV: V1 25 + V2 (1+1)*3 = 31 -> cash flow = 42 - (31 - 25) = 36
    assert c["inventory_value"].iloc[0] == pytest.approx(31)
    assert c["cash_flow"].iloc[0] == pytest.approx(36)
    # Feb: A 5+18-20 = 3, B 1+6-5 = 2, C 3 -> IV 3*4 + 2*5 + 3*3 = 31; revenue 200+100=300
    # material 18*4 + 6*5 + 3 = 105; profits (300-102-50) + (-10) = 138; S = 0
    assert c["company_profit"].iloc[1] == pytest.approx(138)
    assert c["cash_flow"].iloc[1] == pytest.approx(138 - (31 - 31))


# --------------------------------------------------------------------------- export


def test_export_rows_order_and_inputs():
    master = master_frame(("V1", "F1", 10, 4, 0.5, 10, 30))
    rows = [
        *family_series("V1", "F1", "2027-01", "demand", [1, 2, 3]),
        *family_series("V1", "F1", "2027-01", "production", [1, 2, 3]),
        ("V1", "F1", "2027-01", "opening_inventory", 5),
        ("V1", "F1", "2027-02", "actual_sales", 2.5),
        *stream_series("V1", "2027-01", "available_hours", [8, 8, 8]),
        ("", "", "2027-01", "sustaining_cost", 1),
    ]
    exp = export_frame(run(master, values_frame(*rows), "2027-01", 3))
    assert list(exp.columns) == ["value_stream", "product_family", "month", "measure", "value"]
    fam = exp[exp["product_family"] == "F1"]
    assert list(fam["measure"].iloc[:5]) == [
        "opening_inventory",
        "demand",
        "production",
        "ending_inventory",
        "days_of_supply",
    ]
    assert list(fam["measure"].iloc[5:11]) == [
        "demand",
        "production",
        "actual_sales",
        "ending_inventory",
        "days_of_supply",
        "demand",
    ]
    assert fam["measure"].eq("opening_inventory").sum() == 1
    assert len(fam) == 1 + 3 * 4 + 1
    rest = exp.iloc[len(fam) :]
    jan = rest[rest["month"] == "2027-01"]
    assert list(jan["measure"]) == [
        "available_hours",
        "non_productive_hours",
        "conversion_cost",
        "required_hours",
        "utilization",
        "revenue",
        "material_cost",
        "value_stream_profit",
        "return_on_sales",
        "inventory_value",
        "sustaining_cost",
        "revenue",
        "company_profit",
        "cash_flow",
        "inventory_value",
    ]
    assert list(jan["value_stream"]) == ["V1"] * 10 + [""] * 5
    assert (jan["product_family"] == "").all()
    assert list(rest["month"].unique()) == ["2027-01", "2027-02", "2027-03"]
    assert jan["value"].iloc[10] == 1.0


def test_computed_frame_is_export_without_inputs():
    proj = two_stream_plan()
    exp, comp = export_frame(proj), computed_frame(proj)
    inputs = {"opening_inventory", "demand", "production", "actual_sales"}
    inputs |= {"available_hours", "non_productive_hours", "conversion_cost", "sustaining_cost"}
    kept = exp[~exp["measure"].isin(inputs)].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, comp)


def read_codes_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(
        path,
        dtype={"value_stream": str, "product_family": str, "month": str, "measure": str},
        keep_default_na=False,
        na_values={"value": [""]},
    )
    return df


def test_worked_example_matches_expected_csv():
    example = example_dir()
    master = read_codes_csv(example / "master.csv")
    values = read_codes_csv(example / "plan.csv")
    values["month"] = pd.PeriodIndex(values["month"], freq="M")
    expected = read_codes_csv(example / "expected.csv")

    proj = project(PlanInput(month("2027-01"), 18, master, values))
    got = computed_frame(proj)

    assert len(got) == len(expected)
    for name in ("value_stream", "product_family", "month", "measure"):
        assert list(got[name]) == list(expected[name]), name
    g, e = got["value"].to_numpy(), expected["value"].to_numpy(dtype=float)
    assert (np.isnan(g) == np.isnan(e)).all()
    ok = ~np.isnan(e)
    tol = 1e-6 * np.maximum(1.0, np.abs(e[ok]))
    bad = np.abs(g[ok] - e[ok]) > tol
    assert not bad.any(), expected[ok][bad].head()
    # the exported text to 6 decimals is exactly the expected text
    text = pd.read_csv(example / "expected.csv", dtype=str, keep_default_na=False)["value"]
    assert [("" if np.isnan(v) else f"{v:.6f}") for v in g] == list(text)
    # and the full export contains every expected row, in the same relative order
    full = export_frame(proj)
    keyed = full.merge(expected, on=["value_stream", "product_family", "month", "measure"])
    assert len(keyed) == len(expected)


# --------------------------------------------------------------------------- accuracy


def test_forecast_accuracy_hand_worked():
    f = pd.DataFrame(
        {
            "value_stream": ["V1", "V1", "V2", "V2"],
            "product_family": ["A", "B", "C", "C"],
            "month": pd.PeriodIndex(["2027-01", "2027-01", "2027-01", "2027-02"], freq="M"),
            "forecast": [100.0, 50.0, 10.0, 5.0],
        }
    )
    a = pd.DataFrame(
        {
            "value_stream": ["V1", "V1", "V2"],
            "product_family": ["A", "B", "C"],
            "month": pd.PeriodIndex(["2027-01", "2027-01", "2027-01"], freq="M"),
            "actual": [80.0, 60.0, 0.0],
        }
    )
    acc = forecast_accuracy(f, a)
    assert tuple(acc.family.columns) == ACCURACY_FAMILY_COLUMNS
    assert tuple(acc.stream.columns) == ACCURACY_STREAM_COLUMNS
    assert tuple(acc.company.columns) == ACCURACY_COMPANY_COLUMNS
    assert len(acc.family) == 3  # inner join: 2027-02 has no actual
    np.testing.assert_allclose(acc.family["abs_error"], [20, 10, 10])
    assert acc.family["abs_pct_error"].iloc[0] == pytest.approx(20 / 80)
    assert acc.family["abs_pct_error"].iloc[1] == pytest.approx(10 / 60)
    assert math.isnan(acc.family["abs_pct_error"].iloc[2])  # A = 0
    v1 = acc.stream[acc.stream["value_stream"] == "V1"].iloc[0]
    assert v1["wape"] == pytest.approx(30 / 140)
    assert v1["bias"] == pytest.approx((150 - 140) / 140)
    v2 = acc.stream[acc.stream["value_stream"] == "V2"].iloc[0]
    assert math.isnan(v2["wape"]) and math.isnan(v2["bias"])  # ΣA = 0
    co = acc.company.iloc[0]
    assert co["wape"] == pytest.approx(40 / 140)
    assert co["bias"] == pytest.approx((160 - 140) / 140)


def test_forecast_accuracy_empty_inputs_give_empty_frames():
    acc = forecast_accuracy(pd.DataFrame(), pd.DataFrame())
    assert tuple(acc.family.columns) == ACCURACY_FAMILY_COLUMNS and acc.family.empty
    assert tuple(acc.stream.columns) == ACCURACY_STREAM_COLUMNS and acc.stream.empty
    assert tuple(acc.company.columns) == ACCURACY_COMPANY_COLUMNS and acc.company.empty


# --------------------------------------------------------------------------- changes


def test_plan_changes_and_family_demand_changes():
    cur = simple_plan([10, 22, 5], [10, 10, 10], opening=0)
    prev = simple_plan([10, 20, 0], [10, 10, 10], opening=0)
    ch = plan_changes(cur, prev)
    assert list(ch.columns) == [
        "value_stream",
        "month",
        "measure",
        "current",
        "previous",
        "change",
        "change_pct",
    ]
    assert list(ch["measure"].iloc[:3]) == ["demand", "production", "value_stream_profit"]
    feb = ch[(ch["month"] == month("2027-02")) & (ch["measure"] == "demand")].iloc[0]
    assert (feb["current"], feb["previous"], feb["change"]) == (22, 20, 2)
    assert feb["change_pct"] == pytest.approx(0.1)
    feb_profit = ch[(ch["month"] == month("2027-02")) & (ch["measure"] == "value_stream_profit")]
    assert feb_profit["change"].iloc[0] == pytest.approx(2 * 10)  # 2 units more at price 10
    mar = ch[(ch["month"] == month("2027-03")) & (ch["measure"] == "demand")].iloc[0]
    assert mar["change"] == 5 and math.isnan(mar["change_pct"])  # previous 0

    fam = family_demand_changes(cur, prev)
    np.testing.assert_allclose(fam["change"], [0, 2, 5])
    assert fam["change_pct"].iloc[1] == pytest.approx(0.1)


def test_plan_changes_only_months_in_both_plans():
    cur = simple_plan([1, 2, 3], [1, 2, 3], opening=0, start="2027-02")
    prev = simple_plan([1, 2, 3], [1, 2, 3], opening=0, start="2027-01")
    ch = plan_changes(cur, prev)
    assert sorted(set(ch["month"])) == [month("2027-02"), month("2027-03")]
    fam = family_demand_changes(cur, prev)
    np.testing.assert_allclose(fam["current"], [1, 2])
    np.testing.assert_allclose(fam["previous"], [2, 3])


# --------------------------------------------------------------------------- exceptions


def test_exceptions_hand_worked_and_sorted_worst_first():
    master = master_frame(("V1", "A", 10, 4, 1.0, 10, 30), ("V1", "B", 10, 4, 1.0, 10, 30))
    rows = [
        # A: Jan ends at 90, Feb rate 30/28 -> DOS 84 > 30; Feb -> Mar shortage
        *family_series("V1", "A", "2027-01", "demand", [10, 100, 31]),
        *family_series("V1", "A", "2027-01", "production", [0, 0, 0]),
        ("V1", "A", "2027-01", "opening_inventory", 100),
        # B: zero demand all along -> DOS empty, never an exception
        *family_series("V1", "B", "2027-01", "production", [95, 0, 0]),
        # hours: Jan 95/100 = 95% (warn); Feb/Mar 0/0 -> empty
        *stream_series("V1", "2027-01", "available_hours", [100, 0, 10]),
    ]
    proj = run(master, values_frame(*rows), "2027-01", 3)
    ex = exceptions(proj)
    assert tuple(ex.columns) == EXCEPTION_COLUMNS
    assert ex["severity"].dtype == np.int64
    kinds = list(ex["kind"])
    # A: Jan 90 / (100/28) = 25.2 ok; Feb -10 shortage, DOS -10/(31/31) = -10 below;
    # Mar -41 shortage, DOS -41/1 below. Ranked by the distance outside the band:
    # DOS Mar |-41-10|/10 = 5.1, DOS Feb 2.0, shortage Mar 41/31 = 1.32, shortage Feb
    # 10/100 = 0.1, utilization (0.95-0.9)/0.9 = 0.056.
    assert kinds == ["dos_below", "dos_below", "shortage", "shortage", "high_utilization"]
    np.testing.assert_allclose(ex["distance"], [5.1, 2.0, 41 / 31, 0.1, 0.05 / 0.9])
    assert list(ex["month"][2:4]) == [month("2027-03"), month("2027-02")]  # -41 before -10
    warn = ex[ex["kind"] == "high_utilization"].iloc[0]
    assert warn["value"] == pytest.approx(0.95) and warn["limit"] == 0.9
    assert warn["product_family"] == ""
    assert "95.0%" in warn["message"] and "90%" in warn["message"]
    short = ex.iloc[2]
    assert short["product_family"] == "A" and short["value"] == pytest.approx(-41)
    assert "-41.0" in short["message"]
    assert not (ex["product_family"] == "B").any()


def test_exceptions_overloaded_and_dos_above():
    proj = simple_plan([28, 28, 31], [300, 0, 0], opening=0, hours=1.0)
    st_ = proj.stream.copy()
    st_["utilization"] = [1.124, 0.5, 0.2]
    proj.stream = st_
    ex = exceptions(proj)
    over = ex[ex["kind"] == "overloaded"].iloc[0]
    assert over["message"] == "Utilization 112.4% exceeds 100% (overloaded)"
    assert over["severity"] == 3
    above = ex[ex["kind"] == "dos_above"]
    # Jan ends 272, Feb rate 1/day -> 272 days; Feb 244, Mar rate 1 -> 244; Mar 213 / 1
    np.testing.assert_allclose(above["value"], [272, 244, 213])
    assert (above["limit"] == 30).all()


def test_exceptions_demand_change_against_previous_plan():
    cur = simple_plan([100, 111, 50, 5], [100, 111, 50, 5], opening=0, dos_min=0, dos_max=1e9)
    prev = simple_plan([100, 100, 50, 0], [100, 100, 50, 0], opening=0, dos_min=0, dos_max=1e9)
    ex = exceptions(cur, prev, Thresholds(utilization_warn=5, utilization_over=6))
    ch = ex[ex["kind"] == "demand_change"]
    assert len(ch) == 2
    new, changed = ch.iloc[0], ch.iloc[1]  # new demand sorts as the largest change
    assert new["month"] == month("2027-04") and math.isnan(new["value"])
    assert "new demand" in new["message"]
    assert changed["month"] == month("2027-02") and changed["value"] == pytest.approx(0.11)
    assert "+11.0%" in changed["message"] and changed["severity"] == 2
    # exactly 10% is not "more than 10%"
    cur2 = simple_plan([110, 1, 1], [0, 0, 0], opening=0, dos_min=0, dos_max=1e9)
    prev2 = simple_plan([100, 1, 1], [0, 0, 0], opening=0, dos_min=0, dos_max=1e9)
    assert not exceptions(cur2, prev2)["kind"].eq("demand_change").any()


def test_a_974_day_supply_ranks_above_a_small_demand_change():
    """The issue's case: relative distance, not kind, decides the order."""
    # Jan ends at 974 with 1 unit/day next month: 974 days against a 60-day maximum.
    cur = simple_plan([31, 28, 31], [1005, 28, 31], opening=0, dos_min=0, dos_max=60)
    prev = simple_plan([31, 25, 31], [0, 0, 0], opening=0, dos_min=0, dos_max=60)
    ex = exceptions(cur, prev, Thresholds(utilization_warn=5, utilization_over=6))
    kinds = list(ex["kind"])
    assert kinds.index("dos_above") < kinds.index("demand_change")
    first = ex.iloc[0]
    assert first["kind"] == "dos_above" and first["distance"] == pytest.approx((974 - 60) / 60)
    change = ex[ex["kind"] == "demand_change"].iloc[0]
    assert change["distance"] == pytest.approx((3 / 25 - 0.1) / 0.1)


def test_band_distance_is_relative_and_unbounded_without_a_scale():
    np.testing.assert_allclose(band_distance(np.array([1.2, 0.5]), 1.0), [0.2, 0.5])
    assert band_distance(-5.0, 0.0, scale=50.0)[()] == pytest.approx(0.1)
    assert np.isinf(band_distance(-5.0, 0.0, scale=0.0)[()])
    assert np.isnan(band_distance(np.nan, 1.0)[()])


def test_exceptions_empty_frame_has_the_columns():
    proj = simple_plan([10, 10, 10], [10, 10, 10], opening=10, dos_max=100)
    ex = exceptions(proj, proj)
    assert ex.empty and tuple(ex.columns) == EXCEPTION_COLUMNS


# --------------------------------------------------------------------------- properties

quantities = st.one_of(st.just(0.0), st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 1)))


@st.composite
def plans(draw) -> PlanInput:
    n_streams = draw(st.integers(1, 3))
    n_fam = draw(st.integers(1, 5))
    horizon = draw(st.integers(3, 14))
    start = pd.Period(year=draw(st.integers(2020, 2030)), month=draw(st.integers(1, 12)), freq="M")
    fam_stream = [draw(st.integers(0, n_streams - 1)) for _ in range(n_fam)]
    master = master_frame(
        *[
            (
                f"V{s}",
                f"F{i}",
                draw(st.floats(0, 500).map(lambda x: round(x, 2))),
                draw(st.floats(0, 200).map(lambda x: round(x, 2))),
                draw(st.floats(0, 3).map(lambda x: round(x, 3))),
                10.0,
                30.0,
            )
            for i, s in enumerate(fam_stream)
        ]
    )
    months = [str(start + t) for t in range(horizon)]
    rows: list[tuple] = []
    for i, s in enumerate(fam_stream):
        rows.append((f"V{s}", f"F{i}", months[0], "opening_inventory", draw(quantities)))
        for m in months:
            rows.append((f"V{s}", f"F{i}", m, "demand", draw(quantities)))
            rows.append((f"V{s}", f"F{i}", m, "production", draw(quantities)))
    for s in range(n_streams):
        for m in months:
            rows.append((f"V{s}", "", m, "available_hours", draw(quantities)))
            rows.append((f"V{s}", "", m, "non_productive_hours", draw(quantities)))
            rows.append((f"V{s}", "", m, "conversion_cost", draw(quantities) * 10))
    for m in months:
        rows.append(("", "", m, "sustaining_cost", draw(quantities) * 10))
    return PlanInput(start, horizon, master, values_frame(*rows))


def close(a, b, scale=1.0) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    tol = 1e-9 * np.maximum(scale, np.maximum(np.abs(a), np.abs(b)))
    return bool(np.all((np.abs(a - b) <= tol) | (np.isnan(a) & np.isnan(b))))


@settings(max_examples=50, deadline=None)
@given(plans())
def test_property_inventory_balance(plan):
    fam = project(plan).family
    h = plan.horizon
    inv = fam["ending_inventory"].to_numpy().reshape(-1, h)
    prev = np.column_stack([fam["opening_inventory"].to_numpy().reshape(-1, h)[:, 0], inv[:, :-1]])
    flow = (fam["production"] - fam["demand"]).to_numpy().reshape(-1, h)
    assert close(inv, prev + flow, scale=1000)
    dos = fam["days_of_supply"].to_numpy()
    assert not np.isinf(dos).any()


@settings(max_examples=50, deadline=None)
@given(plans())
def test_property_company_rows_are_sums_of_value_streams(plan):
    proj = project(plan)
    by_month = proj.stream.groupby("month", sort=True)
    c = proj.company
    scale = 1e6
    assert close(c["revenue"], by_month["revenue"].sum().to_numpy(), scale)
    assert close(c["inventory_value"], by_month["inventory_value"].sum().to_numpy(), scale)
    profit = by_month["value_stream_profit"].sum().to_numpy() - c["sustaining_cost"].to_numpy()
    assert close(c["company_profit"], profit, scale)
    iv = np.r_[c["opening_inventory_value"].iloc[0], c["inventory_value"].to_numpy()]
    assert close(c["cash_flow"], c["company_profit"].to_numpy() - np.diff(iv), scale)


@settings(max_examples=50, deadline=None)
@given(plans(), st.sampled_from([0.5, 2.0, 3.0, 10.0]))
def test_property_scaling_prices_scales_revenue_only(plan, k):
    master = plan.master.copy()
    master["unit_price"] = master["unit_price"] * k
    base = project(plan)
    scaled = project(PlanInput(plan.start, plan.horizon, master, plan.values))
    scale = 1e6
    assert close(scaled.stream["revenue"], base.stream["revenue"] * k, scale)
    assert close(scaled.company["revenue"], base.company["revenue"] * k, scale)
    for name in ("ending_inventory", "days_of_supply"):
        pd.testing.assert_series_equal(scaled.family[name], base.family[name])
    for name in ("required_hours", "utilization", "material_cost", "inventory_value"):
        pd.testing.assert_series_equal(scaled.stream[name], base.stream[name])
    pd.testing.assert_series_equal(
        scaled.company["inventory_value"], base.company["inventory_value"]
    )
    gain = (k - 1) * base.stream["revenue"]
    assert close(
        scaled.stream["value_stream_profit"], base.stream["value_stream_profit"] + gain, scale
    )
    co_gain = (k - 1) * base.company["revenue"]
    assert close(scaled.company["company_profit"], base.company["company_profit"] + co_gain, scale)
    assert close(scaled.company["cash_flow"], base.company["cash_flow"] + co_gain, scale)
    ros = scaled.stream["value_stream_profit"] / scaled.stream["revenue"].replace(0, np.nan)
    assert close(scaled.stream["return_on_sales"], ros, 1.0)


def test_exception_messages_carry_thousands_separators():
    proj = simple_plan([20000, 1, 1], [0, 0, 0], opening=7654.5, dos_min=0, dos_max=1e9)
    short = exceptions(proj)
    jan = short[(short["kind"] == "shortage") & (short["month"] == month("2027-01"))]
    assert "Ending inventory -12,345.5 units" in jan.iloc[0]["message"]
    cur = simple_plan([1, 25000, 1], [0, 0, 0], opening=0, dos_min=-1e9, dos_max=1e9)
    prev = simple_plan([1, 12000, 1], [0, 0, 0], opening=0, dos_min=-1e9, dos_max=1e9)
    changed = exceptions(cur, prev, Thresholds(utilization_warn=5, utilization_over=6))
    text = changed[changed["kind"] == "demand_change"].iloc[0]["message"]
    assert text.startswith("Demand 25,000.0 units, +108.3% against the last frozen plan (12,000.0")
