"""The grid's totals and stream rows, summed and picked in plain Python, against the
pandas they replace: the same floats, bit for bit, on random frames (many families,
empty cells, infinities, signed zeros, numbers of every size, months out of order)."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from planning.selectors import grid

MEASURES = ("demand", "production", "ending_inventory")


def _number(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.08:
        return float("nan")
    if pick < 0.10:
        return rng.choice([float("inf"), float("-inf"), -0.0, 0.0])
    scale = 10.0 ** rng.randint(-8, 16)
    return rng.uniform(-1, 1) * scale if rng.random() < 0.3 else rng.random() * scale


def _family_frame(rng: random.Random, families: int, months: int) -> pd.DataFrame:
    rows = [(f"F{f}", m) for f in range(families) for m in range(months)]
    rng.shuffle(rows)
    start = rng.randint(600, 700)
    frame = {
        "product_family": [code for code, _ in rows],
        "month": pd.PeriodIndex.from_ordinals([start + m for _, m in rows], freq="M"),
    }
    for m in MEASURES:
        frame[m] = np.array([_number(rng) for _ in rows], dtype="float64")
    return pd.DataFrame(frame)


def _pandas_totals(fam: pd.DataFrame) -> dict:
    by_month = fam.groupby("month", sort=True)[list(MEASURES)].sum(min_count=1).reset_index()
    return {m: grid._series_by_field(by_month, m) for m in MEASURES}


def _bits(value: object) -> str:
    """Exact: floats by their bits (-0.0 is not 0.0), dicts in their order."""
    return json.dumps(value, default=str, allow_nan=True) + repr(value)


@pytest.mark.parametrize("seed", range(60))
def test_totals_are_pandas_grouped_sums(seed):
    rng = random.Random(seed)
    fam = _family_frame(rng, families=rng.randint(1, 40), months=rng.randint(1, 40))
    assert _bits(grid._totals_by_month(fam, MEASURES)) == _bits(_pandas_totals(fam))


def test_totals_of_cancelling_and_empty_months():
    months = pd.PeriodIndex.from_ordinals([680, 680, 680, 681, 681, 682, 683, 683], freq="M")
    fam = pd.DataFrame(
        {
            "product_family": list("ABCABABC"),
            "month": months,
            "demand": [1e16, 1.0, -1e16, np.nan, np.nan, np.inf, np.inf, -np.inf],
            "production": [0.1, 0.2, 0.3, -0.0, -0.0, 1e308, 1e308, 1.0],
            "ending_inventory": [1.0, 1e-17, 1e-17, 2.0, np.nan, np.nan, 3.0, np.nan],
        }
    )
    fast = grid._totals_by_month(fam, MEASURES)
    assert _bits(fast) == _bits(_pandas_totals(fam))
    assert fast["demand"]["m2026-10"] is None  # a month without a number stays empty


def test_totals_of_no_family_and_of_other_types_take_pandas():
    empty = pd.DataFrame(
        {
            "month": pd.PeriodIndex.from_ordinals([], freq="M"),
            **{m: np.array([], dtype="float64") for m in MEASURES},
        }
    )
    assert (
        grid._totals_by_month(empty, MEASURES) == _pandas_totals(empty) == {m: {} for m in MEASURES}
    )
    ints = pd.DataFrame(
        {
            "month": pd.PeriodIndex.from_ordinals([680, 680, 681], freq="M"),
            **{m: np.array([1, 2, 3], dtype="int64") for m in MEASURES},
        }
    )
    assert _bits(grid._totals_by_month(ints, MEASURES)) == _bits(_pandas_totals(ints))


@pytest.mark.parametrize("seed", range(20))
def test_stream_series_is_the_filtered_frames(seed):
    rng = random.Random(seed)
    codes = [rng.choice(["A", "B", "NPD", None]) for _ in range(rng.randint(0, 60))]
    stream = pd.DataFrame(
        {
            "value_stream": pd.array(codes, dtype=object),
            "month": pd.PeriodIndex.from_ordinals([rng.randint(600, 700) for _ in codes], freq="M"),
            "revenue": np.array([_number(rng) for _ in codes], dtype="float64"),
            "utilization": np.array([_number(rng) for _ in codes], dtype="float64"),
        }
    )
    for code in ("A", "NPD", "Z"):
        picked = stream[stream["value_stream"] == code]
        expected = {m: grid._series_by_field(picked, m) for m in ("revenue", "utilization")}
        fast = grid._stream_series(stream, code, ("revenue", "utilization"))
        assert _bits(fast) == _bits(expected)
