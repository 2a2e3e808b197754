"""Plan data as files for the API: the long CSV / XLSX of SOFP.md's file contract.

The writing is done by :mod:`planning.exports` (the same bytes as the browser download
and ``export_plan``): an engine frame goes straight through ``export_csv`` /
``export_xlsx``. Stored plan values (exact decimals from the database) are written as
rows whose numbers :func:`format_plan_value` formats exactly like
``exports.format_number``, without a detour through float.
"""

from __future__ import annotations

import csv
import io
import math
from decimal import Decimal
from typing import Any

import pandas as pd
from rest_framework.renderers import BaseRenderer

from planning.exports import export_csv, export_xlsx, format_number, safe_text
from planning.measures import PLAN_COLUMNS

FILE_FORMATS = ("csv", "xlsx")


def format_plan_value(value: float | Decimal | None) -> str:
    """A plan number as text: ``exports.format_number`` for floats (6 decimals, dot,
    NaN empty, never ``-0.000000``); Decimals the same way but exactly; None and
    ±inf empty."""
    if value is None or (value == value and math.isinf(value)):
        return ""
    return format_number(value)


def _rows(data: Any) -> list[dict]:
    if isinstance(data, dict):
        return list(data.get("results", []))
    return list(data or [])


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            **{c: [r.get(c) or "" for r in rows] for c in PLAN_COLUMNS[:4]},
            "value": pd.to_numeric([r.get("value") for r in rows], errors="coerce"),
        },
        columns=list(PLAN_COLUMNS),
    )


def plan_rows_csv(rows: list[dict]) -> bytes:
    """Rows with values already formatted (exact), written like ``exports.export_csv``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    writer.writerows(
        (*(safe_text(r.get(c) or "") for c in PLAN_COLUMNS[:4]), r.get("value") or "") for r in rows
    )
    return out.getvalue().encode("utf-8")


class PlanCSVRenderer(BaseRenderer):
    """An engine frame (export) or plan-value rows (list) as the contract's CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        if isinstance(data, pd.DataFrame):
            return export_csv(data)
        return plan_rows_csv(_rows(data))


class PlanXLSXRenderer(BaseRenderer):
    """The same as one .xlsx sheet (numbers as numeric cells, undefined empty)."""

    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        frame = data if isinstance(data, pd.DataFrame) else _frame(_rows(data))
        return export_xlsx(frame)
