"""Reading tables from CSV or .xlsx files: the format, the header, the rows and cells.

Generic: a caller names the columns it needs and gets each data row with its line
number; cells are parsed by :func:`parse_number` and :func:`parse_code`. What the rows
mean (codes, scopes, signs, duplicates) is checked by the apps' own file modules
(``valuestreams.imports``, ``planning.imports``) and services.

Every problem is collected (never just the first) as a :class:`~sofp.errors.Problem`
with its line and column, in plain words, so a planner can fix a whole file in one go.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import CommandError, CommandParser

from sofp.errors import Problem
from sofp.spreadsheet_safety import is_formula, open_workbook

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)

NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_UTF8_BOM = b"\xef\xbb\xbf"


class FileUnreadable(Exception):
    """The file as a whole cannot be read (encoding, format, header): one problem."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.problem = Problem("unreadable", message, line=line)


class CellError(ValueError):
    """A cell that is not what its column needs; ``code`` says what kind of wrong."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def input_file(path: str) -> bytes:
    """The bytes of a file named on a command line (CommandError when there is none)."""
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"No such file: {path}")
    return file.read_bytes()


def add_file_arguments(parser: CommandParser) -> None:
    """The arguments every import command takes: the file, and ``--dry-run``."""
    parser.add_argument("file", help="CSV (UTF-8) or .xlsx file.")
    parser.add_argument(
        "--dry-run", action="store_true", help="Validate and report; write nothing."
    )


def cell_problem(exc: CellError, *, line: int, column: str) -> Problem:
    return Problem(exc.code, str(exc), line=line, column=column, field=column)


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """What a file held: its rows and every problem found. ``read_table`` gives rows as
    ``(line number, {column: raw cell})`` — raw cells are ``str`` for CSV and whatever
    openpyxl read for .xlsx (str, int, float, datetime); an app's reader subclasses it
    with typed rows, leaving out those with a problem."""

    format: str
    rows: list = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


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
        table.errors = [exc.problem]
    return table


def read_header(*, data: bytes, filename: str = "") -> list[str]:
    """The file's header names (first non-blank line, normalised as ``read_table`` does);
    empty when the file cannot be read (``read_table`` then says why)."""
    fmt = file_format(data=data, filename=filename)
    try:
        rows = _xlsx_rows(data) if fmt == XLSX else _csv_rows(data)
        _line, header = _first_nonblank(rows)
    except FileUnreadable:
        return []
    return [] if header is None else [header_name(h) for h in header]


def _fill_table(
    table: Table, raw_rows: Iterator[tuple[int, list[object]]], columns: Sequence[str]
) -> None:
    header_line, header = _first_nonblank(raw_rows)
    if header is None:
        raise FileUnreadable(
            "The file is empty: the first line must be the header " + ",".join(columns) + "."
        )
    names = [header_name(h) for h in header]
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
            f"the header has {'; '.join(problems)}. Expected: {','.join(columns)}.{hint}",
            line=header_line,
        )
    position = {c: names.index(c) for c in columns}
    width = len(names)
    for line, cells in raw_rows:
        if all(blank(c) for c in cells):
            continue
        if len(cells) > width and any(not blank(c) for c in cells[width:]):
            table.errors.append(
                Problem(
                    "extra_cells",
                    f"{len(cells)} cells but the header has {width} columns (a comma inside "
                    "a number? use a dot for decimals and no thousands separator)",
                    line=line,
                )
            )
            continue
        table.rows.append(
            (line, {c: cells[i] if i < len(cells) else None for c, i in position.items()})
        )
    if not table.rows and not table.errors:
        table.errors.append(Problem("no_rows", "The file has a header but no data rows."))


def _first_nonblank(
    raw_rows: Iterator[tuple[int, list[object]]],
) -> tuple[int, list[object] | None]:
    for line, cells in raw_rows:
        if not all(blank(c) for c in cells):
            return line, cells
    return 0, None


def header_name(cell: object) -> str:
    return str(cell or "").strip().strip("\ufeff").strip().lower()


def blank(cell: object) -> bool:
    """An empty cell: None, or text of only blanks."""
    return cell is None or (isinstance(cell, str) and not cell.strip())


def decode_text(data: bytes) -> str:
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
    text = decode_text(data)
    if "\x00" in text:
        raise FileUnreadable("The file contains NUL bytes: it is not a CSV text file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            # line_num is the physical line the record ended on; records span one line
            # unless a quoted cell holds a line break.
            yield reader.line_num, list(cells)
    except csv.Error as exc:
        raise FileUnreadable(f"the CSV is malformed ({exc}).", line=reader.line_num) from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    try:
        workbook = open_workbook(io.BytesIO(data))
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

    Raises CellError with a plain-words reason for anything else.
    """
    if blank(cell):
        return None
    if isinstance(cell, bool):
        raise CellError(f"{cell!r} is not a number", code="not_a_number")
    if isinstance(cell, int):
        return Decimal(cell)
    if isinstance(cell, float):
        if cell != cell or cell in (float("inf"), float("-inf")):
            raise CellError("is not a finite number", code="not_a_number")
        return Decimal(repr(cell))
    if isinstance(cell, Decimal):
        return cell
    text = str(cell).strip()
    if is_formula(text):
        raise CellError(
            f"{show(text)} is a formula, not a number: enter the value itself",
            code="not_a_number",
        )
    if not NUMBER_RE.match(text):
        hint = ""
        if "," in text or " " in text or "'" in text:
            hint = " (use a dot for decimals and no thousands separator)"
        raise CellError(f"{show(text)} is not a number{hint}", code="not_a_number")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits valid numbers only
        raise CellError(f"{show(text)} is not a number", code="not_a_number") from exc


def parse_code(cell: object) -> str:
    """A code cell as text; Excel may hand a numeric code over as 1001 or 1001.0."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).strip()


def show(text: str, limit: int = 40) -> str:
    """Cell text for a message: quoted, cut after ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
