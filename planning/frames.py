"""Frames of many float64 columns, built as one 2-D block.

The engine's output frames hold 9 to 16 float64 columns beside a few text and month
columns. ``pd.DataFrame(dict)`` checks, wraps and places every column on its own (~10 to
30 µs each, most of the cost of a 36-row company frame); here the float columns are the
rows of one array the engine wrote its results into, handed to pandas as one block.

The frame is the one ``pd.DataFrame(dict, copy=False)`` gives — same columns, order,
dtypes, values and RangeIndex — only its float columns share one block, as they do
after any ``copy()``. A column read from it is a view of its row, as it was a view of
its own array before; setting a column replaces it, writing into a column changes that
column only. Without pandas' block helpers (they are pseudo-public) the public
constructor builds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

try:  # pandas' pseudo-public block API for downstream libraries (pandas/core/internals/api.py)
    from pandas.core.internals import BlockManager
    from pandas.core.internals.api import make_block

    _from_mgr = pd.DataFrame._from_mgr
except (ImportError, AttributeError):  # pragma: no cover - the public path serves then
    BlockManager = None

# The dtype "str" names here: object (pandas 2) or a string dtype (pandas 3, or the
# future.infer_string option). Text columns go in as object arrays only in the first case.
_STR_IS_OBJECT = pd.Index([], dtype="str").dtype == object


def repeated_codes(codes: Sequence[str] | np.ndarray, times: int) -> np.ndarray | pd.Index:
    """Each code ``times`` times in a row, as a column of dtype "str" reads them: an object
    array where that dtype is object (cheaper than an Index's ``repeat``)."""
    codes = np.asarray(codes, dtype=object)
    if not _STR_IS_OBJECT:  # pragma: no cover - pandas 3 / future.infer_string
        return pd.Index(codes, dtype="str").repeat(times)
    return np.broadcast_to(codes[:, None], (len(codes), times)).ravel()


def _is_plain(values: object) -> bool:
    """A 1-D array of objects, numbers or booleans, or a PeriodArray: what
    ``pd.DataFrame(dict)`` keeps as it is, in a block of its own."""
    if isinstance(values, np.ndarray):
        return values.dtype.kind in "Oiufb" and values.ndim == 1
    return isinstance(values, pd.arrays.PeriodArray)


def block_frame(
    columns: Sequence[str], floats: np.ndarray, others: dict[str, object]
) -> pd.DataFrame:
    """A frame of ``columns``: ``others`` by name, the rest the rows of ``floats`` (a C
    contiguous float64 array, one row per remaining column, in ``columns``' order).

    The arrays are used as they are, not copied: the caller hands over arrays it built
    for this frame alone.
    """
    n = floats.shape[1]
    float_at = [i for i, c in enumerate(columns) if c not in others]
    if (
        BlockManager is None
        or floats.dtype != np.float64
        or not floats.flags.c_contiguous
        or len(float_at) != len(floats)
        or not all(_is_plain(v) and len(v) == n for v in others.values())
    ):
        rows = iter(floats)
        data = {c: others[c] if c in others else next(rows) for c in columns}
        return pd.DataFrame(data, copy=False)
    blocks = [make_block(floats, placement=np.array(float_at, dtype=np.intp), ndim=2)]
    for i, c in enumerate(columns):
        if c in others:
            values = others[c]
            if isinstance(values, np.ndarray):
                values = values.reshape(1, n)
            blocks.append(make_block(values, placement=slice(i, i + 1), ndim=2))
    axes = [pd.Index(list(columns), dtype=object), pd.RangeIndex(n)]
    mgr = BlockManager(tuple(blocks), axes)
    return _from_mgr(mgr, axes=mgr.axes)
