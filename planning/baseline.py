"""The statistical baseline forecast per product family (SOFP.md, "Statistical baseline
and forecast value added"): pure pandas/NumPy and statsforecast, no Django.

Sales own the forecast (Maskell): the baseline is an input to step 1 that people
compare their demand with, never a replacement for it. It is forecast from a family's
actual sales before the cycle's month:

* fewer than :data:`MIN_HISTORY_MONTHS` months of sales: no baseline, and the reason;
* 24 months or more: AutoETS with a season of 12 months (additive season, error and
  trend chosen by AICc), otherwise AutoETS without a season;
* where many months are zero (the average interval between non-zero months is at least
  :data:`INTERMITTENT_ADI`, Syntetos and Boylan's cut-off) the intermittent-demand models
  CrostonOptimized, ADIDA and IMAPA compete with AutoETS;
* the candidates are compared by rolling-origin cross-validation on the last months
  (:data:`CV_WINDOWS` origins, each forecasting :data:`CV_HORIZON` months, the models
  fitted once on the months before the first origin and rolled forward, as
  statsforecast's ``cross_validation(refit=False)`` does); the lowest absolute error
  wins and its WAPE over those months is the family's holdout error. The seasonal naive
  forecast (the actual of 12 months before, else of the month before) is scored on the
  same months as the benchmark.
* The winner, with the parameters fitted for the holdout, is rolled over the whole
  history and forecasts the horizon (one model fit per candidate: that is what keeps
  1,000 families inside the time budget). Series too short for a holdout are fitted on
  all their months; a model that cannot fit them (AutoETS needs about eight months)
  falls back to simple exponential smoothing.

History frame (:data:`HISTORY_COLUMNS`): ``product_family`` (str), ``month``
(``period[M]``), ``sales`` (float). Months at or after the cycle's start are ignored;
missing months between a family's first and last sale count as zero. Outputs:
``forecast`` (:data:`FORECAST_COLUMNS`, one row per family with a baseline and horizon
month, values ≥ 0) and ``fits`` (:data:`FIT_COLUMNS`, one row per family asked for).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_HISTORY_MONTHS = 3
SEASON_LENGTH = 12
SEASONAL_MIN_MONTHS = 24
# Average demand interval (months per month with sales) from which a series is
# intermittent: Syntetos and Boylan's 1.32, about one month in four without sales.
INTERMITTENT_ADI = 1.32
CV_HORIZON = 3
CV_WINDOWS = 3
CV_MONTHS = CV_HORIZON + CV_WINDOWS - 1  # the last months the holdout forecasts
CV_MIN_TRAIN = 8  # months before the first origin (AutoETS fits from about eight)

HISTORY_COLUMNS = ("product_family", "month", "sales")
FORECAST_COLUMNS = ("product_family", "month", "value")
FIT_COLUMNS = (
    "product_family",
    "method",
    "model",
    "holdout_wape",
    "benchmark_wape",
    "history_months",
    "reason",
)

AUTO_ETS = "AutoETS"
INTERMITTENT_METHODS = ("CrostonOptimized", "ADIDA", "IMAPA")
FALLBACK = "SimpleExponentialSmoothing"
METHODS = (AUTO_ETS, *INTERMITTENT_METHODS, FALLBACK)
BENCHMARK = "SeasonalNaive"


def reason_too_short(months: int) -> str:
    """Why a family has no baseline (the text the grid and the API show)."""
    if months == 0:
        return "No sales history: the baseline needs at least 3 months of actual sales."
    return (
        f"Only {months} month{'s' if months != 1 else ''} of sales history: "
        f"the baseline needs at least {MIN_HISTORY_MONTHS}."
    )


@dataclass(eq=False)
class Baseline:
    """The baseline of many families: forecast rows and one fit row per family."""

    forecast: pd.DataFrame
    fits: pd.DataFrame


@dataclass(frozen=True)
class Series:
    """One family's monthly sales: ``values[i]`` is month ``first + i`` (ordinals)."""

    product_family: str
    first: int
    values: np.ndarray
    observed: int  # months with a value entered (the rest are gaps counted as 0)


@dataclass(frozen=True)
class FamilyFit:
    """What one family's baseline came to (``forecast`` is empty when ``reason`` says why)."""

    product_family: str
    method: str
    model: str  # the fitted form, e.g. "ETS(A,N,A)" (else the method's name)
    holdout_wape: float
    benchmark_wape: float
    history_months: int
    reason: str
    forecast: np.ndarray  # the horizon's months, in order


# --------------------------------------------------------------------------- models


def _model(name: str, *, seasonal: bool):
    """A fresh statsforecast model (imported here: the import takes a second)."""
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        AutoETS,
        CrostonOptimized,
        SimpleExponentialSmoothingOptimized,
    )

    if name == AUTO_ETS:
        if seasonal:
            return AutoETS(season_length=SEASON_LENGTH, model="ZZA")
        return AutoETS(season_length=1, model="ZZN")
    return {
        "CrostonOptimized": CrostonOptimized,
        "ADIDA": ADIDA,
        "IMAPA": IMAPA,
        FALLBACK: SimpleExponentialSmoothingOptimized,
    }[name]()


def is_intermittent(y: np.ndarray) -> bool:
    """Many months without sales: the average demand interval reaches the cut-off."""
    nonzero = int(np.count_nonzero(y > 0))
    return nonzero == 0 or len(y) / nonzero >= INTERMITTENT_ADI


def candidates(y: np.ndarray) -> tuple[str, ...]:
    return (AUTO_ETS, *INTERMITTENT_METHODS) if is_intermittent(y) else (AUTO_ETS,)


class _Fitted:
    """A model fitted once, forecasting from any longer stretch of the same series.

    AutoETS keeps the parameters it fitted and rolls its states over the longer series
    (``forward``); the intermittent models have no parameters worth keeping and simply
    run again (they take microseconds)."""

    def __init__(self, name: str, *, seasonal: bool, train: np.ndarray) -> None:
        self.name, self.seasonal = name, seasonal
        self.model = _model(name, seasonal=seasonal).fit(y=train)

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        if hasattr(self.model, "forward"):
            result = self.model.forward(y=y, h=h)
        else:
            result = _model(self.name, seasonal=self.seasonal).forecast(y=y, h=h)
        return np.asarray(result["mean"], dtype=float)

    @property
    def form(self) -> str:
        fitted = getattr(self.model, "model_", None)
        if isinstance(fitted, dict) and fitted.get("method"):
            return str(fitted["method"])
        return self.name


def _fit(name: str, *, seasonal: bool, train: np.ndarray) -> _Fitted | None:
    """The model fitted on ``train``, or None when it cannot fit it (too short, flat…)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fitted = _Fitted(name, seasonal=seasonal, train=train)
            # Some fits only fail when they forecast: try one step now.
            if not np.isfinite(fitted.forecast(train, 1)).all():
                return None
            return fitted
    except Exception:  # statsforecast raises plain exceptions for series it cannot fit
        return None


def seasonal_naive(y: np.ndarray, cutoff: int, h: int) -> np.ndarray:
    """SOFP.md's naive forecast from ``y[:cutoff]``: the actual of 12 months before the
    forecast month, else of the last month known."""
    out = np.empty(h)
    for k in range(h):
        back = cutoff + k - SEASON_LENGTH
        out[k] = y[back] if back >= 0 and back < cutoff else y[cutoff - 1]
    return out


def _wape(errors: float, actual: float) -> float:
    return errors / actual if actual > 0 else math.nan


def fit_family(series: Series, steps: int, horizon: int) -> FamilyFit:
    """Choose, score and forecast one family; ``steps`` months past its last sale reach
    the horizon's last month."""
    y = series.values.astype(float)
    n = len(y)
    if series.observed < MIN_HISTORY_MONTHS:
        return FamilyFit(
            series.product_family,
            "",
            "",
            math.nan,
            math.nan,
            series.observed,
            reason_too_short(series.observed),
            np.empty(0),
        )
    seasonal = n >= SEASONAL_MIN_MONTHS
    names = candidates(y)
    holdout, benchmark = math.nan, math.nan
    chosen: _Fitted | None = None
    if n - CV_MONTHS >= CV_MIN_TRAIN:
        start = n - CV_MONTHS
        cutoffs = [start + w for w in range(CV_WINDOWS)]
        actual = sum(float(y[c : c + CV_HORIZON].sum()) for c in cutoffs)
        best = math.inf
        for name in names:
            fitted = _fit(name, seasonal=seasonal, train=y[:start])
            if fitted is None:
                continue
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                error = sum(
                    float(
                        np.abs(
                            np.maximum(fitted.forecast(y[:c], CV_HORIZON), 0)
                            - y[c : c + CV_HORIZON]
                        ).sum()
                    )
                    for c in cutoffs
                )
            if error < best:
                best, chosen = error, fitted
        if chosen is not None:
            holdout = _wape(best, actual)
        naive_error = sum(
            float(np.abs(seasonal_naive(y, c, CV_HORIZON) - y[c : c + CV_HORIZON]).sum())
            for c in cutoffs
        )
        benchmark = _wape(naive_error, actual)
    if chosen is None:  # too short for a holdout, or no candidate fitted the first months
        chosen = _fit(names[0], seasonal=seasonal, train=y) or _fit(
            FALLBACK, seasonal=False, train=y
        )
    if chosen is None:  # nothing fits (cannot happen with 3+ finite months): repeat the last
        values = np.full(steps, y[-1])
        method = form = "Naive"
    else:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            values = chosen.forecast(y, steps)
        method, form = chosen.name, chosen.form
    values = np.nan_to_num(np.maximum(values, 0.0), nan=0.0, posinf=0.0)
    return FamilyFit(
        series.product_family,
        method,
        form,
        holdout,
        benchmark,
        series.observed,
        "",
        values[-horizon:],
    )


# --------------------------------------------------------------------------- frames


def history_series(
    history: pd.DataFrame, *, start: pd.Period, families: Iterable[str] | None = None
) -> list[Series]:
    """Each family's sales before ``start``, gaps as zero; families without any too."""
    start_ordinal = pd.Period(start, freq="M").ordinal
    frame = history.loc[:, list(HISTORY_COLUMNS)]
    months = pd.PeriodIndex(frame["month"], freq="M").asi8
    keep = (months < start_ordinal) & frame["sales"].notna().to_numpy()
    codes = frame["product_family"].astype(str).to_numpy()[keep]
    months, sales = months[keep], frame["sales"].to_numpy(dtype=float)[keep]
    order = np.lexsort((months, codes))
    codes, months, sales = codes[order], months[order], sales[order]
    out: dict[str, Series] = {}
    if len(codes):
        bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
        for a, b in itertools.pairwise(bounds):
            m, s = months[a:b], sales[a:b]
            values = np.zeros(int(m[-1] - m[0]) + 1)
            values[m - m[0]] = s  # a month given twice: the later row wins
            out[str(codes[a])] = Series(str(codes[a]), int(m[0]), values, len(np.unique(m)))
    wanted = sorted(out) if families is None else list(dict.fromkeys(map(str, families)))
    return [out.get(f) or Series(f, start_ordinal, np.zeros(0), 0) for f in wanted]


def _fit_many(args: tuple[list[Series], int, int]) -> list[FamilyFit]:
    series, start_ordinal, horizon = args
    fits = []
    for s in series:
        last = s.first + len(s.values) - 1
        steps = max(start_ordinal + horizon - 1 - last, horizon)
        fits.append(fit_family(s, steps, horizon))
    return fits


def baseline_forecast(
    history: pd.DataFrame,
    *,
    start: pd.Period,
    horizon: int,
    families: Sequence[str] | None = None,
    n_jobs: int = 1,
) -> Baseline:
    """The baseline of ``families`` (default: every family in ``history``) for the
    ``horizon`` months from ``start``. ``n_jobs`` > 1 spreads the families over as many
    processes (the fits are CPU-bound)."""
    start = pd.Period(start, freq="M")
    series = history_series(history, start=start, families=families)
    jobs = max(1, min(int(n_jobs), len(series)))
    if jobs == 1:
        fits = _fit_many((series, start.ordinal, horizon))
    else:
        parts = [series[i::jobs] for i in range(jobs)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            done = list(pool.map(_fit_many, [(p, start.ordinal, horizon) for p in parts]))
        by_family = {f.product_family: f for part in done for f in part}
        fits = [by_family[s.product_family] for s in series]
    return _frames(fits, start=start, horizon=horizon)


def _frames(fits: list[FamilyFit], *, start: pd.Period, horizon: int) -> Baseline:
    with_values = [f for f in fits if len(f.forecast)]
    months = pd.period_range(start, periods=horizon, freq="M")
    forecast = pd.DataFrame(
        {
            "product_family": pd.Series(
                np.repeat([f.product_family for f in with_values], horizon), dtype=object
            ),
            "month": pd.PeriodIndex(np.tile(months, len(with_values)), freq="M")
            if with_values
            else pd.PeriodIndex([], freq="M"),
            "value": np.concatenate([f.forecast for f in with_values])
            if with_values
            else np.empty(0),
        }
    )
    fit_frame = pd.DataFrame(
        [
            (
                f.product_family,
                f.method,
                f.model,
                f.holdout_wape,
                f.benchmark_wape,
                f.history_months,
                f.reason,
            )
            for f in fits
        ],
        columns=list(FIT_COLUMNS),
    ).astype({"holdout_wape": float, "benchmark_wape": float, "history_months": int})
    return Baseline(forecast=forecast, fits=fit_frame)


# Demand this far from the baseline (either way, as a share of the baseline) is
# highlighted in step 1 and asks for an assumption: sales may know better than the model,
# and the assumption says what they know.
FAR_FROM_BASELINE = 0.30


def baseline_gap(demand: float | None, baseline: float | None) -> float | None:
    """(demand − baseline) ÷ baseline when demand is far from a baseline, else None.
    A baseline of 0 against any demand counts as far (the gap is then +inf)."""
    if demand is None or baseline is None or math.isnan(demand) or math.isnan(baseline):
        return None
    if baseline == 0:
        return math.inf if demand > 0 else None
    gap = (demand - baseline) / baseline
    return gap if abs(gap) > FAR_FROM_BASELINE else None


def baseline_gap_text(demand: float, baseline: float, gap: float) -> str:
    """The highlight's words: how far, and what to do about it."""
    if math.isinf(gap):
        how = "against a baseline of 0"
    else:
        how = f"{abs(gap):.0%} {'above' if gap > 0 else 'below'} the statistical baseline"
    return (
        f"Demand {demand:,.0f} is {how} ({baseline:,.0f}): add an assumption "
        "(a comment) saying why."
    )


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Σ|A−F| ÷ ΣA over every cell given (NaN when nothing was sold)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    return _wape(float(np.abs(actual - forecast).sum()), float(actual.sum()))
