"""Plan data as files (the long CSV / XLSX of SOFP.md's file contract) for the API.

``format_plan_value`` is the ONE place a plan number is written as text: a plain decimal
with a dot, no thousands separator, exactly 6 decimals; undefined (None, NaN, ±inf) is
empty. The renderers take rows (dicts with the file-contract columns, values already
formatted) or a paginated page of them, and write only the five contract columns.
"""

from __future__ import annotations

import csv
import io
import math
from decimal import Decimal
from typing import Any

from rest_framework.renderers import BaseRenderer

from planning.measures import PLAN_COLUMNS

FILE_FORMATS = ("csv", "xlsx")


def format_plan_value(value: float | Decimal | None) -> str:
    """``1234.5`` → ``"1234.500000"``; ``None``/NaN/inf → ``""``; never ``"-0.000000"``."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return ""
    elif not math.isfinite(value):
        return ""
    text = f"{value:.6f}"
    return "0.000000" if text == "-0.000000" else text


def _rows(data: Any) -> list[dict]:
    if isinstance(data, dict):
        return list(data.get("results", []))
    return list(data or [])


def plan_rows_csv(rows: list[dict]) -> str:
    """The long CSV: header ``value_stream,product_family,month,measure,value``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    writer.writerows(
        (
            r.get("value_stream") or "",
            r.get("product_family") or "",
            r["month"],
            r["measure"],
            r.get("value") or "",
        )
        for r in rows
    )
    return out.getvalue()


def plan_rows_xlsx(rows: list[dict]) -> bytes:
    """The same columns in one sheet; values are numbers (6 decimals), undefined empty."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("plan")
    sheet.append(list(PLAN_COLUMNS))
    for r in rows:
        value = r.get("value")
        sheet.append(
            [
                r.get("value_stream") or "",
                r.get("product_family") or "",
                r["month"],
                r["measure"],
                float(value) if value not in (None, "") else None,
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class PlanCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return plan_rows_csv(_rows(data)).encode("utf-8")


class PlanXLSXRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return plan_rows_xlsx(_rows(data))
