"""Writing the engine's long export frame as CSV or .xlsx bytes (the file contract).

Numbers are plain decimals with a dot, six decimals, no thousands separator; undefined
values (NaN) are empty. Text cells never start with a character a spreadsheet would run
as a formula.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd

from planning.imports import CSV, XLSX
from planning.measures import PLAN_COLUMNS

CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = PLAN_COLUMNS[:4]


def export_filename(*, label: str, fmt: str) -> str:
    return f"sofp-plan-{label}.{fmt}"


def safe_text(text: str) -> str:
    """Prefix a quote to text a spreadsheet would read as a formula (CSV/formula injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def format_number(value: float) -> str:
    """``f"{v:.6f}"``; empty for NaN; never ``-0.000000``."""
    if value != value:
        return ""
    text = f"{value:.6f}"
    return "0.000000" if text == "-0.000000" else text


def _text_columns(frame: pd.DataFrame) -> list[list[str]]:
    columns = []
    for name in _TEXT_COLUMNS:
        values = frame[name].astype("str").to_numpy(dtype=object)
        vocab = {v: safe_text(v) for v in pd.unique(values)}
        columns.append([vocab[v] for v in values])
    return columns


def export_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (no BOM, ``\\n`` line ends) with the header ``PLAN_COLUMNS``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    values = [format_number(v) for v in frame["value"].to_numpy(dtype=float, na_value=np.nan)]
    writer.writerows(zip(*_text_columns(frame), values, strict=True))
    return out.getvalue().encode("utf-8")


def export_xlsx(frame: pd.DataFrame, *, sheet_title: str = "plan") -> bytes:
    """One sheet, same columns; numbers as numeric cells, undefined values as empty cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDE", (16, 18, 10, 22, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    bold = Font(bold=True)
    header = []
    for name in PLAN_COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    numbers = [
        None if math.isnan(v) else (0.0 if v == 0 else v)
        for v in frame["value"].to_numpy(dtype=float, na_value=np.nan).tolist()
    ]
    for vs, pf, month, measure, value in zip(*_text_columns(frame), numbers, strict=True):
        sheet.append((vs or None, pf or None, month, measure, value))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_bytes(frame: pd.DataFrame, *, fmt: str) -> bytes:
    if fmt == CSV:
        return export_csv(frame)
    if fmt == XLSX:
        return export_xlsx(frame)
    raise ValueError(f"unknown export format {fmt!r}; use csv or xlsx")
