"""The statistical baseline (planning/baseline.py): methods, selection, reasons, quality.

Pure: no Django, no database. The quality test is SOFP.md's promise — on ordinary
monthly series the baseline beats the seasonal naive forecast clearly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planning.baseline import (
    AUTO_ETS,
    FIT_COLUMNS,
    FORECAST_COLUMNS,
    INTERMITTENT_METHODS,
    MIN_HISTORY_MONTHS,
    Series,
    baseline_forecast,
    candidates,
    fit_family,
    history_series,
    is_intermittent,
    reason_too_short,
    seasonal_naive,
    wape,
)

START = pd.Period("2027-01", freq="M")
HISTORY = 48
AHEAD = 6


def history_frame(series: dict[str, np.ndarray], *, end: pd.Period = START) -> pd.DataFrame:
    """Each family's values for the months just before ``end``."""
    rows = []
    for code, values in series.items():
        first = end - len(values)
        rows += [(code, first + i, float(v)) for i, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["product_family", "month", "sales"])


def generated(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Ordinary monthly series of SOFP.md's four kinds (units, never negative)."""
    t = np.arange(n)
    if kind == "trend_season":
        y = 100 + 1.0 * t + 25 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 8, n)
    elif kind == "season":
        y = 200 + 40 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6)) + rng.normal(0, 10, n)
    elif kind == "level":
        y = 150 + rng.normal(0, 15, n)
    else:  # intermittent: about one month in three sells
        y = (rng.random(n) < 0.35) * rng.poisson(8, n)
    return np.maximum(y, 0).round()


KINDS = ("trend_season", "season", "level", "intermittent")


def test_baseline_beats_seasonal_naive_on_generated_series():
    """WAPE over the next 6 months ≤ 0.85 × the seasonal naive's, on every kind together;
    the trend+season kind, where the naive forecast misses the trend, on its own too."""
    rng = np.random.default_rng(17)
    truth: dict[str, tuple[str, np.ndarray]] = {}
    for kind in KINDS:
        for i in range(5):
            truth[f"{kind}-{i}"] = (kind, generated(kind, rng, HISTORY + AHEAD))
    history = history_frame({code: y[:HISTORY] for code, (_, y) in truth.items()})

    result = baseline_forecast(history, start=START, horizon=AHEAD)

    forecast = result.forecast.set_index(["product_family", "month"])["value"]
    months = pd.period_range(START, periods=AHEAD, freq="M")
    errors = {kind: [0.0, 0.0] for kind in KINDS}
    for code, (kind, y) in truth.items():
        actual = y[HISTORY:]
        ours = forecast.loc[[(code, m) for m in months]].to_numpy()
        naive = seasonal_naive(y, HISTORY, AHEAD)
        errors[kind][0] += float(np.abs(actual - ours).sum())
        errors[kind][1] += float(np.abs(actual - naive).sum())
    ours_all = sum(e[0] for e in errors.values())
    naive_all = sum(e[1] for e in errors.values())
    assert ours_all <= 0.85 * naive_all, errors
    assert errors["trend_season"][0] <= 0.85 * errors["trend_season"][1], errors
    # Every intermittent family was offered the intermittent models, some took one.
    fits = result.fits.set_index("product_family")
    chosen = fits.loc[[c for c in truth if c.startswith("intermittent")], "method"]
    assert set(chosen) <= {AUTO_ETS, *INTERMITTENT_METHODS}
    assert set(chosen) & set(INTERMITTENT_METHODS)


def test_frames_have_their_columns_and_one_row_per_family_and_month():
    rng = np.random.default_rng(1)
    history = history_frame({"A": generated("level", rng, 30), "B": np.array([4.0, 5.0])})
    result = baseline_forecast(history, start=START, horizon=4, families=["A", "B", "C"])
    assert tuple(result.forecast.columns) == FORECAST_COLUMNS
    assert tuple(result.fits.columns) == FIT_COLUMNS
    assert list(result.fits["product_family"]) == ["A", "B", "C"]
    assert list(result.forecast["product_family"]) == ["A"] * 4
    assert list(result.forecast["month"]) == list(pd.period_range(START, periods=4, freq="M"))
    assert (result.forecast["value"] >= 0).all()


def test_fewer_than_three_months_give_no_baseline_and_the_reason():
    history = history_frame({"TWO": np.array([10.0, 12.0]), "THREE": np.array([10.0, 12, 11])})
    result = baseline_forecast(history, start=START, horizon=3, families=["NONE", "TWO", "THREE"])
    fits = result.fits.set_index("product_family")
    assert fits.loc["TWO", "reason"] == reason_too_short(2)
    assert "Only 2 months" in fits.loc["TWO", "reason"]
    assert fits.loc["NONE", "reason"] == reason_too_short(0)
    assert fits.loc["TWO", "method"] == "" and fits.loc["NONE", "history_months"] == 0
    assert fits.loc["THREE", "reason"] == "" and fits.loc["THREE", "method"] != ""
    assert set(result.forecast["product_family"]) == {"THREE"}
    assert MIN_HISTORY_MONTHS == 3


def test_24_months_fit_a_seasonal_ets_and_fewer_a_non_seasonal_one():
    rng = np.random.default_rng(3)
    y = generated("season", rng, 36)
    long = fit_family(Series("L", 0, y, 36), 6, 6)
    short = fit_family(Series("S", 0, y[:20], 20), 6, 6)
    assert long.method == AUTO_ETS and long.model.endswith(",A)")  # additive season
    assert short.method == AUTO_ETS and short.model.endswith(",N)")  # no season


def test_holdout_error_is_the_winners_wape_on_the_last_months_and_the_benchmark_is_naive():
    y = np.tile(np.array([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]), 3)
    fit = fit_family(Series("X", 0, y, len(y)), 3, 3)
    # A pure repeating season: the seasonal naive is perfect, and so (nearly) is ETS.
    assert fit.benchmark_wape == 0.0
    assert 0.0 <= fit.holdout_wape < 0.05
    assert np.allclose(fit.forecast, [10, 20, 30], atol=3)


def test_series_too_short_for_a_holdout_still_get_a_baseline_without_holdout_error():
    fit = fit_family(Series("X", 0, np.array([5.0, 6, 7, 6]), 4), 3, 3)
    assert fit.reason == "" and len(fit.forecast) == 3
    assert math.isnan(fit.holdout_wape) and math.isnan(fit.benchmark_wape)
    assert (fit.forecast > 3).all()


def test_intermittent_series_are_offered_the_intermittent_models():
    sparse = np.array([0, 0, 5, 0, 0, 0, 7, 0, 3, 0, 0, 0], dtype=float)
    regular = np.array([5, 6, 5, 7, 6, 5, 6, 7, 5, 6, 0, 6], dtype=float)
    assert is_intermittent(sparse) and not is_intermittent(regular)
    assert candidates(sparse) == (AUTO_ETS, *INTERMITTENT_METHODS)
    assert candidates(regular) == (AUTO_ETS,)


def test_all_zero_history_forecasts_zero():
    fit = fit_family(Series("Z", 0, np.zeros(30), 30), 4, 4)
    assert fit.reason == "" and np.allclose(fit.forecast, 0)


@pytest.mark.parametrize("gap_months", [1, 3])
def test_forecast_reaches_the_horizon_when_the_last_months_are_not_entered(gap_months):
    """The last sale may be months before the cycle: the forecast still starts there."""
    rng = np.random.default_rng(5)
    y = generated("level", rng, 30)
    history = history_frame({"A": y}, end=START - gap_months + 1)
    result = baseline_forecast(history, start=START, horizon=5)
    assert list(result.forecast["month"]) == list(pd.period_range(START, periods=5, freq="M"))
    assert result.forecast["value"].between(100, 200).all()


def test_history_series_counts_gaps_as_zero_and_ignores_months_from_the_start_on():
    history = pd.DataFrame(
        {
            "product_family": ["A", "A", "A", "A", "A"],
            "month": pd.PeriodIndex(
                ["2026-08", "2026-10", "2026-11", "2027-01", "2026-11"], freq="M"
            ),
            "sales": [4.0, 6.0, 1.0, 99.0, 7.0],
        }
    )
    (series,) = history_series(history, start=START)
    assert series.first == pd.Period("2026-08", "M").ordinal
    assert list(series.values) == [4.0, 0.0, 6.0, 7.0]  # the later 2026-11 row wins
    assert series.observed == 3


def test_parallel_jobs_give_the_same_baseline_as_one():
    rng = np.random.default_rng(9)
    history = history_frame({f"F{i}": generated("season", rng, 30) for i in range(4)})
    one = baseline_forecast(history, start=START, horizon=3, n_jobs=1)
    two = baseline_forecast(history, start=START, horizon=3, n_jobs=2)
    pd.testing.assert_frame_equal(one.forecast, two.forecast)
    pd.testing.assert_frame_equal(one.fits, two.fits)


def test_wape_is_absolute_error_over_actuals():
    assert wape(np.array([10.0, 10.0]), np.array([8.0, 13.0])) == pytest.approx(0.25)
    assert math.isnan(wape(np.zeros(2), np.ones(2)))
