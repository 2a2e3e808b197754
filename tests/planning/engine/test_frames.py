"""``planning.frames.block_frame`` gives the frame ``pd.DataFrame(dict)`` gives — same
columns, order, dtypes, index, values bit for bit — with the float columns in one block,
and that frame behaves the same when read, copied, written into or assigned to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.engine import FAMILY_COLUMNS, PlanInput, project
from planning.frames import block_frame, repeated_codes

COLUMNS = ("code", "x", "month", "y", "z")


def parts(n: int = 6) -> tuple[np.ndarray, dict[str, object]]:
    floats = np.arange(3 * n, dtype=float).reshape(3, n)
    floats[1, 2] = np.nan
    floats[2, 0] = -0.0
    others = {
        "code": repeated_codes(["A", "B"], n // 2),
        "month": pd.period_range("2027-01", periods=n, freq="M").array,
    }
    return floats, others


def reference(floats: np.ndarray, others: dict[str, object]) -> pd.DataFrame:
    rows = iter(floats.copy())
    return pd.DataFrame({c: others[c] if c in others else next(rows) for c in COLUMNS})


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f":
            assert np.array_equal(x.view(np.int64), y.view(np.int64))


def test_repeated_codes_repeat_each_code_in_a_row():
    codes = repeated_codes(["A", "B", "C"], 2)
    assert codes.dtype == pd.Index([], dtype="str").dtype
    assert list(codes) == ["A", "A", "B", "B", "C", "C"]


def test_block_frame_is_the_dict_frame_with_one_float_block():
    floats, others = parts()
    frame = block_frame(COLUMNS, floats, others)
    assert_same(frame, reference(floats, others))
    assert list(frame.columns) == list(COLUMNS)
    assert isinstance(frame.index, pd.RangeIndex)
    float_blocks = [b for b in frame._mgr.blocks if b.dtype == np.float64]
    assert len(float_blocks) == 1 and float_blocks[0].shape == (3, 6)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda f, o: (np.asfortranarray(f), o),  # not C contiguous
        lambda f, o: (f, {**o, "code": pd.Index(o["code"])}),  # an Index, not an array
        lambda f, o: (f.astype(np.float32), o),  # not float64
    ],
    ids=["fortran", "index", "float32"],
)
def test_block_frame_falls_back_to_the_dict_frame(spoil):
    floats, others = spoil(*parts())
    assert_same(block_frame(COLUMNS, floats, others), reference(floats, others))


def test_an_int_column_among_the_others_keeps_its_dtype():
    floats, others = parts()
    others = {**others, "y": np.zeros(6, dtype=np.int64)}
    frame = block_frame(COLUMNS, floats[:2].copy(), others)
    assert frame["y"].dtype == np.int64
    assert np.array_equal(frame["z"].to_numpy(), floats[1], equal_nan=True)


def test_writing_into_one_column_leaves_the_others():
    floats, others = parts()
    frame = block_frame(COLUMNS, floats, others)
    expected = reference(floats, others)
    frame.loc[frame["code"] == "A", "y"] = 100.0
    expected.loc[expected["code"] == "A", "y"] = 100.0
    frame["z"] = frame["x"] * 2
    expected["z"] = expected["x"] * 2
    copied = frame.copy()
    copied["x"] = 0.0
    assert_same(frame, expected)
    assert (copied["x"] == 0.0).all() and frame["x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_projection_family_floats_are_one_block_and_empty_plans_work():
    months = pd.period_range("2027-01", periods=3, freq="M")
    master = pd.DataFrame(
        {
            "value_stream": ["S1"],
            "product_family": ["F1"],
            "unit_price": [2.0],
            "unit_material_cost": [1.0],
            "hours_per_unit": [0.5],
            "dos_min": [10.0],
            "dos_max": [30.0],
        }
    )
    values = pd.DataFrame(
        {
            "value_stream": ["S1"] * 3,
            "product_family": ["F1"] * 3,
            "month": months,
            "measure": ["demand"] * 3,
            "value": [1.0, 2.0, 3.0],
        }
    )
    family = project(PlanInput(months[0], 3, master, values)).family
    assert list(family.columns) == list(FAMILY_COLUMNS)
    assert [b.dtype for b in family._mgr.blocks].count(np.float64) == 1
    assert family["demand"].tolist() == [1.0, 2.0, 3.0]
    assert family["ending_inventory"].tolist() == [-1.0, -3.0, -6.0]
    empty = project(PlanInput(months[0], 3, master.iloc[:0], values.iloc[:0]))
    assert len(empty.family) == 0 and list(empty.family.columns) == list(FAMILY_COLUMNS)
    assert empty.company["sustaining_cost"].tolist() == [0, 0, 0]
