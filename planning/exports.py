"""Writing the engine's long export frame as CSV or .xlsx bytes (the file contract).

Numbers are plain decimals with a dot, six decimals, no thousands separator; undefined
values (NaN) are empty. Text cells never start with a character a spreadsheet would run
as a formula.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd

from planning.measures import PLAN_COLUMNS
from sofp.spreadsheet_safety import safe_text  # the one rule for text cells (re-exported)
from sofp.tables import CSV, XLSX

CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_TEXT_COLUMNS = PLAN_COLUMNS[:4]


def export_filename(*, label: str, fmt: str) -> str:
    return f"sofp-plan-{label}.{fmt}"


def format_number(value: float | Decimal) -> str:
    """``f"{v:.6f}"``; empty for NaN; never ``-0.000000``. Decimals format exactly."""
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
    """One sheet, same columns; numbers as numeric cells, undefined values as empty cells.

    openpyxl builds the package (workbook, styles, bold frozen header, column widths);
    the data rows are then written straight into the sheet's XML. openpyxl's own cell
    writer needs ~5 s for an 80,000-row plan; this takes a tenth of that, and the file
    reads back through openpyxl like any other (tested).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    sheet.append(PLAN_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDE", (16, 18, 10, 22, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    skeleton = io.BytesIO()
    workbook.save(skeleton)

    rows_xml = _sheet_rows_xml(frame, first_row=2)
    last_row = len(frame) + 1
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(skeleton.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode("utf-8")
                xml = re.sub(
                    r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:E{last_row}"/>', xml
                )
                xml = xml.replace("</sheetData>", rows_xml + "</sheetData>", 1)
                data = xml.encode("utf-8")
            dst.writestr(item, data)
    return out.getvalue()


def _brace(text: str) -> str:
    """Escape braces: the cell template is filled in with ``str.format``."""
    return text.replace("{", "{{").replace("}", "}}")


def _sheet_rows_xml(frame: pd.DataFrame, *, first_row: int) -> str:
    """``<row>`` elements: text as inline strings, numbers as numbers, NaN as no cell."""

    def text_cells(column: int, values: list[str]) -> list[str]:
        letter = "ABCD"[column]
        vocab = {
            v: (
                f'<c r="{letter}{{}}" t="inlineStr"><is><t>{_brace(xml_escape(v))}</t></is></c>'
                if v
                else ""
            )
            for v in set(values)
        }
        return [vocab[v] for v in values]

    texts = [text_cells(i, col) for i, col in enumerate(_text_columns(frame))]
    numbers = frame["value"].to_numpy(dtype=float, na_value=np.nan).tolist()
    parts = []
    for i, (vs, pf, month, measure, value) in enumerate(zip(*texts, numbers, strict=True)):
        r = first_row + i
        number = (
            "" if value != value else f'<c r="E{r}"><v>{0.0 if value == 0 else value!r}</v></c>'
        )
        parts.append(
            f'<row r="{r}">{vs.format(r)}{pf.format(r)}{month.format(r)}{measure.format(r)}'
            f"{number}</row>"
        )
    return "".join(parts)


def export_bytes(frame: pd.DataFrame, *, fmt: str) -> bytes:
    if fmt == CSV:
        return export_csv(frame)
    if fmt == XLSX:
        return export_xlsx(frame)
    raise ValueError(f"unknown export format {fmt!r}; use csv or xlsx")


# --------------------------------------------------------------------------- wide layout

WIDE = "wide"
LONG = "long"
LAYOUTS = (LONG, WIDE)
WIDE_KEYS = ("value_stream", "product_family", "measure")


def wide_table(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The long export frame laid out as the grid: one row per (stream, family,
    measure) in the long file's order, one column per month ``YYYY-MM`` in order;
    numbers formatted as in the long file, missing and undefined cells empty. Computed
    rows are included for reading (an import skips them)."""
    months = sorted({str(m) for m in frame["month"].astype(str)})
    col = {m: i for i, m in enumerate(months)}
    rows: dict[tuple[str, str, str], list[str]] = {}
    keys = zip(
        *_text_columns(frame)[:2],
        frame["measure"].astype(str),
        frame["month"].astype(str),
        frame["value"].to_numpy(dtype=float, na_value=np.nan),
        strict=True,
    )
    for vs, pf, measure, month, value in keys:
        row = rows.get((vs, pf, measure))
        if row is None:
            row = rows[(vs, pf, measure)] = [""] * len(months)
        row[col[month]] = format_number(value)
    header = [*WIDE_KEYS, *months]
    return header, [[vs, pf, safe_text(m), *cells] for (vs, pf, m), cells in rows.items()]


def export_wide_csv(frame: pd.DataFrame) -> bytes:
    header, rows = wide_table(frame)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def export_wide_xlsx(frame: pd.DataFrame, *, sheet_title: str = "plan") -> bytes:
    """The grid layout as a workbook: codes and month headers as text (Excel keeps
    ``2027-03`` as written), numbers as numeric cells, the keys and header frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    header, rows = wide_table(frame)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.data_type = "s"
    for row in rows:
        sheet.append(row[:3] + [float(v) if v else None for v in row[3:]])
    sheet.freeze_panes = "D2"
    for letter, width in zip("ABC", (16, 18, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_layout_bytes(frame: pd.DataFrame, *, fmt: str, layout: str = LONG) -> bytes:
    """The plan file in the long contract or the grid's wide layout."""
    if layout == LONG:
        return export_bytes(frame, fmt=fmt)
    if layout != WIDE:
        raise ValueError(f"unknown layout {layout!r}; use long or wide")
    if fmt == CSV:
        return export_wide_csv(frame)
    if fmt == XLSX:
        return export_wide_xlsx(frame)
    raise ValueError(f"unknown export format {fmt!r}; use csv or xlsx")


def export_layout_filename(*, label: str, fmt: str, layout: str = LONG) -> str:
    suffix = "-grid" if layout == WIDE else ""
    return f"sofp-plan-{label}{suffix}.{fmt}"


BOX_SCORE_COLUMNS: tuple[str, ...] = ("value_stream", "month", "measure", "value")


def box_score_csv(rows: pd.DataFrame) -> bytes:
    """``value_stream,month,measure,value`` (company rows: value_stream empty), numbers
    as in every export (6 decimals, dot, undefined empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BOX_SCORE_COLUMNS)
    for vs, month, measure, value in rows[list(BOX_SCORE_COLUMNS)].itertuples(index=False):
        writer.writerow([safe_text(str(vs)), str(month), measure, format_number(float(value))])
    return out.getvalue().encode("utf-8")


LAUNCH_CSV_COLUMNS = (
    "cycle",
    "product_family",
    "family_name",
    "npd_stream",
    "receiving_stream",
    "status",
    "planned_month",
    "committed_month",
    "actual_month",
    "months_late",
    "ramp",
    "development_hours",
    "version",
)


def launches_csv(launches: list[dict]) -> bytes:
    """The launch register as CSV: one row per launch (``launch_dict``s); the ramp as
    units separated by ``;`` from the launch month on, hours as ``YYYY-MM:hours;…``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LAUNCH_CSV_COLUMNS)
    for d in launches:
        writer.writerow(
            [
                d["cycle"] or "",
                safe_text(d["product_family"]),
                safe_text(d["family_name"]),
                safe_text(d["npd_stream"]),
                safe_text(d["receiving_stream"]),
                d["status"],
                d["planned_month"] or "",
                d["committed_month"] or "",
                d["actual_month"] or "",
                d["months_late"],
                ";".join(format_number(float(x)) for x in d["ramp"]),
                ";".join(
                    f"{m}:{format_number(float(h))}" for m, h in d["development_hours"].items()
                ),
                d["version"],
            ]
        )
    return out.getvalue().encode("utf-8")
