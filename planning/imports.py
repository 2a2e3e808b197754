"""Reading plan and master-data files (CSV or .xlsx) into typed rows.

This module only understands *files*: encoding, header, empty lines, numbers and months
written as text. It never looks at the database; codes, scopes, horizons, signs,
duplicates and permissions are checked by the services that write
(``plan_values_upsert``, ``master_import``), which name the same ``line N``.

Every problem is collected (never just the first) as ``"line N, column C: …"`` in plain
words, so a planner can fix a whole file in one go.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from planning.calendar import parse_month
from planning.measures import (
    COMPANY_OUTPUT_MEASURES,
    FAMILY_OUTPUT_MEASURES,
    INPUT_MEASURES,
    MASTER_COLUMNS,
    PLAN_COLUMNS,
    STREAM_OUTPUT_MEASURES,
)

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)

# Computed measures appear in our own exports; an import skips them so that a
# downloaded file can be edited and uploaded again as it is.
COMPUTED_MEASURES: frozenset[str] = frozenset(
    FAMILY_OUTPUT_MEASURES + STREAM_OUTPUT_MEASURES + COMPANY_OUTPUT_MEASURES
) - frozenset(INPUT_MEASURES)

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_LINE_RE = re.compile(r"^line (\d+)\b")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_UTF8_BOM = b"\xef\xbb\xbf"


class FileUnreadable(Exception):
    """The file as a whole cannot be read (encoding, format, header): one message."""


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """Data rows of a file as ``(line number, {column: raw cell})``; raw cells are
    ``str`` for CSV and whatever openpyxl read for .xlsx (str, int, float, datetime)."""

    format: str
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def file_format(*, data: bytes, filename: str = "") -> str:
    """``xlsx`` for a zip container or an ``.xlsx`` name, else ``csv``."""
    if data.startswith(_ZIP_MAGIC) or filename.lower().endswith(".xlsx"):
        return XLSX
    return CSV


def read_table(*, data: bytes, filename: str, columns: Sequence[str]) -> Table:
    """Rows of a CSV/XLSX file whose header must contain ``columns`` (any order).

    Extra columns are ignored; entirely blank lines are skipped.
    """
    fmt = file_format(data=data, filename=filename)
    table = Table(format=fmt)
    try:
        raw_rows = _xlsx_rows(data) if fmt == XLSX else _csv_rows(data)
        _fill_table(table, raw_rows, columns)
    except FileUnreadable as exc:
        table.rows = []
        table.errors = [str(exc)]
    return table


def _fill_table(
    table: Table, raw_rows: Iterator[tuple[int, list[object]]], columns: Sequence[str]
) -> None:
    header_line, header = _first_nonblank(raw_rows)
    if header is None:
        raise FileUnreadable(
            "The file is empty: the first line must be the header " + ",".join(columns) + "."
        )
    names = [_header_name(h) for h in header]
    problems = []
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        problems.append(f"column(s) {', '.join(dupes)} appear more than once")
    missing = [c for c in columns if c not in names]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if problems:
        hint = ""
        if len(names) == 1 and ";" in names[0]:
            hint = " The columns seem separated by ';' — separate them with commas."
        raise FileUnreadable(
            f"line {header_line}: the header has {'; '.join(problems)}. "
            f"Expected: {','.join(columns)}.{hint}"
        )
    position = {c: names.index(c) for c in columns}
    width = len(names)
    for line, cells in raw_rows:
        if all(_blank(c) for c in cells):
            continue
        if len(cells) > width and any(not _blank(c) for c in cells[width:]):
            table.errors.append(
                f"line {line}: {len(cells)} cells but the header has {width} columns "
                "(a comma inside a number? use a dot for decimals and no thousands separator)"
            )
            continue
        table.rows.append(
            (line, {c: cells[i] if i < len(cells) else None for c, i in position.items()})
        )
    if not table.rows and not table.errors:
        table.errors.append("The file has a header but no data rows.")


def _first_nonblank(
    raw_rows: Iterator[tuple[int, list[object]]],
) -> tuple[int, list[object] | None]:
    for line, cells in raw_rows:
        if not all(_blank(c) for c in cells):
            return line, cells
    return 0, None


def _header_name(cell: object) -> str:
    return str(cell or "").strip().strip("\ufeff").strip().lower()


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _decode(data: bytes) -> str:
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileUnreadable(
            "The file is UTF-16 text; save it as UTF-8 (in Excel: 'CSV UTF-8') and try again."
        )
    if data.startswith(_OLE_MAGIC):
        raise FileUnreadable(
            "This is an old Excel .xls workbook; save it as .xlsx or as CSV UTF-8."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileUnreadable(
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}). "
            "Save it as UTF-8 (in Excel: 'CSV UTF-8') and try again."
        ) from exc


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    text = _decode(data)
    if "\x00" in text:
        raise FileUnreadable("The file contains NUL bytes: it is not a CSV text file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            # line_num is the physical line the record ended on; records span one line
            # unless a quoted cell holds a line break.
            yield reader.line_num, list(cells)
    except csv.Error as exc:
        raise FileUnreadable(f"line {reader.line_num}: the CSV is malformed ({exc}).") from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many types for broken files; all mean "unreadable"
        raise FileUnreadable(
            "The file could not be read as an Excel workbook (.xlsx); "
            "save it again from Excel, or as CSV UTF-8."
        ) from exc
    try:
        if not workbook.worksheets:
            raise FileUnreadable("The workbook has no sheet.")
        sheet = workbook.worksheets[0]
        for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, list(cells)
    finally:
        workbook.close()


# --------------------------------------------------------------------------- cells


def parse_number(cell: object) -> Decimal | None:
    """A decimal from ``12``, ``12.5``, ``1e3`` or a numeric Excel cell; None when blank.

    Raises ValueError with a plain-words reason for anything else.
    """
    if _blank(cell):
        return None
    if isinstance(cell, bool):
        raise ValueError(f"{cell!r} is not a number")
    if isinstance(cell, int):
        return Decimal(cell)
    if isinstance(cell, float):
        if cell != cell or cell in (float("inf"), float("-inf")):
            raise ValueError("is not a finite number")
        return Decimal(repr(cell))
    if isinstance(cell, Decimal):
        return cell
    text = str(cell).strip()
    if not _NUMBER_RE.match(text):
        hint = ""
        if "," in text or " " in text or "'" in text:
            hint = " (use a dot for decimals and no thousands separator)"
        raise ValueError(f"{_show(text)} is not a number{hint}")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits valid numbers only
        raise ValueError(f"{_show(text)} is not a number") from exc


def parse_month_cell(cell: object) -> dt.date:
    """``YYYY-MM`` text (or an Excel date on the 1st) → the month's first day."""
    if isinstance(cell, dt.datetime | dt.date):
        day = cell.date() if isinstance(cell, dt.datetime) else cell
        if day.day != 1:
            raise ValueError(f"{day.isoformat()} is a date; write the month as YYYY-MM")
        return day
    text = "" if cell is None else str(cell).strip()
    if not text:
        raise ValueError("is empty; write the month as YYYY-MM, e.g. 2027-01")
    month = parse_month(text)
    if month is None:
        raise ValueError(f"{_show(text)} is not a month; write YYYY-MM, e.g. 2027-01")
    return month


def parse_code(cell: object) -> str:
    """A code cell as text; Excel may hand a numeric code over as 1001 or 1001.0."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).strip()


def _show(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def problem_line(message: str) -> int:
    """The line a message is about (0 for whole-file problems), for sorting."""
    m = _LINE_RE.match(message)
    return int(m.group(1)) if m else 0


def sort_problems(problems: Sequence[str]) -> list[str]:
    """Whole-file problems first, then by line; each message once, order kept within a line."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=problem_line)


# --------------------------------------------------------------------------- plan files


@dataclass(frozen=True)
class PlanRow:
    """One input cell of a plan file; ``value=None`` means the value cell was blank."""

    line: int
    value_stream: str
    product_family: str
    month: dt.date
    measure: str
    value: Decimal | None

    @property
    def label(self) -> str:
        return f"line {self.line}"


@dataclass
class ParsedPlan:
    format: str
    rows: list[PlanRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    computed_skipped: int = 0


def parse_plan(*, data: bytes, filename: str = "") -> ParsedPlan:
    """Rows of a long plan file (``value_stream,product_family,month,measure,value``).

    Rows of computed measures (``revenue``, ``days_of_supply``…) are skipped and
    counted, so an exported file can be re-imported. Rows with a problem are left out
    of ``rows`` and described in ``errors``.
    """
    table = read_table(data=data, filename=filename, columns=PLAN_COLUMNS)
    parsed = ParsedPlan(format=table.format, errors=list(table.errors))
    for line, cells in table.rows:
        measure = parse_code(cells["measure"]).lower()
        if measure in COMPUTED_MEASURES:
            parsed.computed_skipped += 1
            continue
        problems = []
        if not measure:
            problems.append(f"line {line}, column measure: is empty")
        try:
            month = parse_month_cell(cells["month"])
        except ValueError as exc:
            problems.append(f"line {line}, column month: {exc}")
        try:
            value = parse_number(cells["value"])
        except ValueError as exc:
            problems.append(f"line {line}, column value: {exc}")
        if problems:
            parsed.errors.extend(problems)
            continue
        parsed.rows.append(
            PlanRow(
                line=line,
                value_stream=parse_code(cells["value_stream"]),
                product_family=parse_code(cells["product_family"]),
                month=month,
                measure=measure,
                value=value,
            )
        )
    parsed.errors = sort_problems(parsed.errors)
    return parsed


# --------------------------------------------------------------------------- master files

MASTER_NUMBER_COLUMNS = ("unit_price", "unit_material_cost", "hours_per_unit", "dos_min", "dos_max")
MASTER_REQUIRED_NUMBERS = ("unit_price", "unit_material_cost", "hours_per_unit")


@dataclass(frozen=True)
class MasterRow:
    """One product family of a master-data file; blank ``dos_*`` are None."""

    line: int
    value_stream: str
    value_stream_name: str
    product_family: str
    family_name: str
    unit_price: Decimal
    unit_material_cost: Decimal
    hours_per_unit: Decimal
    dos_min: Decimal | None
    dos_max: Decimal | None

    @property
    def label(self) -> str:
        return f"line {self.line}"


@dataclass
class ParsedMaster:
    format: str
    rows: list[MasterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_master(*, data: bytes, filename: str = "") -> ParsedMaster:
    """Rows of a master-data file (header as in ``MASTER_COLUMNS``)."""
    table = read_table(data=data, filename=filename, columns=MASTER_COLUMNS)
    parsed = ParsedMaster(format=table.format, errors=list(table.errors))
    for line, cells in table.rows:
        problems = []
        texts = {
            c: parse_code(cells[c])
            for c in ("value_stream", "value_stream_name", "product_family", "family_name")
        }
        for column, text in texts.items():
            if not text:
                problems.append(f"line {line}, column {column}: is empty")
        numbers: dict[str, Decimal | None] = {}
        for column in MASTER_NUMBER_COLUMNS:
            try:
                numbers[column] = parse_number(cells[column])
            except ValueError as exc:
                problems.append(f"line {line}, column {column}: {exc}")
                continue
            if numbers[column] is None and column in MASTER_REQUIRED_NUMBERS:
                problems.append(f"line {line}, column {column}: is empty")
        if problems:
            parsed.errors.extend(problems)
            continue
        parsed.rows.append(MasterRow(line=line, **texts, **numbers))
    parsed.errors = sort_problems(parsed.errors)
    return parsed
