"""Forecast value added (SOFP.md): naive, baseline and final WAPE and what each step added."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from planning.engine import FVA_COLUMNS, FVA_WINDOW_COLUMNS, forecast_value_added


def P(text: str) -> pd.Period:
    return pd.Period(text, freq="M")


def frames():
    actuals = pd.DataFrame(
        [
            ("S", "F1", P("2026-01"), 100.0),
            ("S", "F1", P("2026-12"), 90.0),
            ("S", "F1", P("2027-01"), 110.0),
            ("S", "F2", P("2026-12"), 50.0),
            ("S", "F2", P("2027-01"), 40.0),
            ("T", "G1", P("2026-12"), 10.0),
            ("T", "G1", P("2027-01"), 20.0),
        ],
        columns=["value_stream", "product_family", "month", "actual"],
    )
    forecasts = pd.DataFrame(
        [
            ("S", "F1", P("2027-01"), 120.0, 105.0),
            ("S", "F2", P("2027-01"), 40.0, 44.0),
            ("T", "G1", P("2027-01"), 20.0, math.nan),  # no baseline for G1
        ],
        columns=["value_stream", "product_family", "month", "demand", "baseline"],
    )
    return forecasts, actuals


def test_fva_per_stream_follows_the_formulas():
    fva = forecast_value_added(*frames())
    assert tuple(fva.monthly.columns) == FVA_COLUMNS
    s = fva.monthly.set_index("value_stream").loc["S"]
    # N: F1 the actual of 12 months before (100), F2 the month before (50).
    assert s["naive_wape"] == pytest.approx(20 / 150)
    assert s["baseline_wape"] == pytest.approx(9 / 150)
    assert s["demand_wape"] == pytest.approx(10 / 150)
    assert s["fva_statistics"] == pytest.approx(20 / 150 - 9 / 150)
    assert s["fva_consensus"] == pytest.approx(9 / 150 - 10 / 150)  # negative: made it worse


def test_company_sums_every_stream_and_each_forecast_counts_where_it_exists():
    fva = forecast_value_added(*frames())
    co = fva.monthly.set_index("value_stream").loc[""]
    assert co["actual"] == 170
    assert co["naive_wape"] == pytest.approx((20 + 10) / 170)  # G1: N = 10, A = 20
    assert co["baseline_wape"] == pytest.approx(9 / 150)  # G1 has none
    assert co["demand_wape"] == pytest.approx(10 / 170)
    t = fva.monthly.set_index("value_stream").loc["T"]
    assert math.isnan(t["baseline_wape"]) and math.isnan(t["fva_statistics"])


def test_window_pools_the_closed_months():
    forecasts, actuals = frames()
    actuals = pd.concat(
        [actuals, pd.DataFrame([("S", "F1", P("2027-02"), 100.0)], columns=actuals.columns)]
    )
    forecasts = pd.concat(
        [
            forecasts,
            pd.DataFrame([("S", "F1", P("2027-02"), 100.0, 80.0)], columns=forecasts.columns),
        ]
    )
    fva = forecast_value_added(forecasts, actuals)
    assert tuple(fva.window.columns) == FVA_WINDOW_COLUMNS
    s = fva.window.set_index("value_stream").loc["S"]
    assert s["months"] == 2
    # 2027-02: N = actual of 2027-01 (110), B = 80, D = 100; A = 100.
    assert s["naive_wape"] == pytest.approx((20 + 10) / 250)
    assert s["baseline_wape"] == pytest.approx((9 + 20) / 250)
    assert s["demand_wape"] == pytest.approx((10 + 0) / 250)
    assert fva.window.set_index("value_stream").loc["", "months"] == 2


def test_months_without_a_frozen_plan_and_empty_inputs_give_no_rows():
    forecasts, actuals = frames()
    only_naive = forecast_value_added(forecasts.iloc[0:0], actuals, months=[P("2027-01")])
    assert len(only_naive.monthly) == 0 and len(only_naive.window) == 0
    fva = forecast_value_added(forecasts, actuals, months=[P("2026-12")])
    assert len(fva.monthly) == 0
