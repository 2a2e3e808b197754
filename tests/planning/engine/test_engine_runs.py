"""Rows grouped in runs are looked up once per run. Family runs are found by the codes'
identity first and their values only where neighbours are different objects; measure
and stream runs by identity alone (a fresh ``str`` per row is looked up row by row). A
column of shared code objects (as the selectors build it) and one of a fresh ``str``
per row (as a database driver gives it) read the same, and so does the row-by-row
lookup the runs replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.engine import (
    FAMILY_INPUT_MEASURES,
    PlanInput,
    _lookup,
    _lookup_runs,
    _object_runs,
    _run_starts,
    project,
)


def fresh(codes: np.ndarray) -> np.ndarray:
    """The same codes, each row its own ``str`` object (equal value, another address)."""
    return np.array(["".join(list(c)) if isinstance(c, str) else c for c in codes], object)


def test_fresh_str_objects_are_distinct_but_equal():
    shared = np.array(["VS1"] * 3, dtype=object)
    copies = fresh(shared)
    assert copies[0] is not copies[1] and copies[0] == copies[1]


@pytest.mark.parametrize("build", [lambda c: c, fresh], ids=["shared", "fresh"])
def test_run_starts_compare_values_where_the_objects_differ(build):
    codes = np.array(["AX"] * 30 + ["BX"] * 30 + ["AX"] * 40, dtype=object)
    other = np.array(["S1"] * 45 + ["S2"] * 55, dtype=object)
    starts = _run_starts(build(codes), build(other))
    assert starts.tolist() == [0, 30, 45, 60]


def test_run_starts_give_up_on_short_runs_and_on_pd_na():
    alternating = np.array(["A", "B"] * 50, dtype=object)
    assert _run_starts(alternating) is None
    with_na = np.array(["AX"] * 50 + [pd.NA] * 50, dtype=object)
    assert _run_starts(fresh(with_na)) is None


def test_a_run_of_one_nan_object_is_one_run_of_distinct_nans_many():
    one_nan = np.array(["A"] * 50 + [np.nan] * 50, dtype=object)
    assert _run_starts(one_nan).tolist() == [0, 50]
    nans = np.array(["A"] * 50 + [float("nan") for _ in range(50)], dtype=object)
    assert _run_starts(nans) is None  # 51 runs in 100 rows: not worth it


def test_object_runs_are_runs_of_one_object():
    codes = np.array(["AX"] * 30 + ["BX"] * 30 + ["AX"] * 40, dtype=object)
    assert _object_runs(codes).tolist() == [0, 30, 60]
    assert _object_runs(fresh(codes)) is None  # 100 objects: no runs
    assert _object_runs(codes[:64]).tolist() == [0, 30, 60]
    assert _object_runs(codes[:63]) is None  # too short to be worth it


def test_lookup_runs_is_the_row_by_row_lookup():
    vocab = np.array(FAMILY_INPUT_MEASURES, dtype=object)
    rng = np.random.default_rng(3)
    pool = np.array([*FAMILY_INPUT_MEASURES, "bogus", None, np.nan, 7], dtype=object)
    codes = np.repeat(pool[rng.integers(len(pool), size=60)], rng.integers(1, 9, size=60))
    for column in (codes, fresh(codes)):
        assert np.array_equal(_lookup_runs(vocab, column), _lookup(vocab, column))


def grouped_plan(build) -> PlanInput:
    """Two streams, 40 families, values grouped by family with a few rows of trouble."""
    months = pd.period_range("2027-01", periods=6, freq="M")
    vs = np.array([f"S{i % 2}" for i in range(40)], dtype=object)
    pf = np.array([f"F{i:02d}" for i in range(40)], dtype=object)
    master = pd.DataFrame(
        {
            "value_stream": vs,
            "product_family": pf,
            "unit_price": 10.0,
            "unit_material_cost": 4.0,
            "hours_per_unit": 0.5,
            "dos_min": 10.0,
            "dos_max": 30.0,
        }
    )
    rows = np.repeat(np.arange(40), 12)
    measure = np.tile(np.repeat(np.array(["demand", "production"], object), 6), 40)
    value_stream, product_family = vs[rows].copy(), pf[rows].copy()
    value_stream[24:36] = "S9"  # a family under another stream: not read
    product_family[48:54] = None  # a missing family code: read as ""
    # Stream rows grouped by stream, each cell given three times (they add up); S7 has no
    # family.
    st_vs = np.repeat(np.array(["S0", "S1", "S7"], object), 36)
    st_measure = np.tile(
        np.repeat(np.array(["available_hours", "non_productive_hours"], object), 6), 9
    )
    values = pd.DataFrame(
        {
            "value_stream": build(np.r_[value_stream, st_vs]),
            "product_family": build(np.r_[product_family, np.full(len(st_vs), "", object)]),
            "month": np.tile(months, 80 + 18),
            "measure": build(np.r_[measure, st_measure]),
            "value": np.r_[np.arange(len(rows), dtype=float), np.ones(len(st_vs))],
        }
    )
    return PlanInput(start=months[0], horizon=6, master=master, values=values)


def test_shared_and_fresh_code_objects_project_the_same_frames():
    shared, copies = project(grouped_plan(lambda c: c)), project(grouped_plan(fresh))
    for name in ("family", "stream", "company"):
        pd.testing.assert_frame_equal(getattr(shared, name), getattr(copies, name))
    demand = shared.family.set_index("product_family")["demand"]
    assert demand["F00"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert demand["F02"].sum() == 0.0  # its demand rows name stream S9
    assert demand["F04"].sum() == 0.0  # its demand rows name no family
    stream = shared.stream.set_index("value_stream")
    assert stream.index.unique().tolist() == ["S0", "S1", "S7"]
    assert stream.loc["S7", "available_hours"].tolist() == [3.0] * 6  # 3 rows a month
    assert stream.loc["S0", "non_productive_hours"].tolist() == [3.0] * 6
