"""Reading plan files (CSV or .xlsx, the long format of SOFP.md's file contract).

Only the file: header, blanks, months and numbers written as text. Codes, scopes,
horizons, signs, duplicates and permissions are checked by ``plan_values_upsert``,
which names the same line. The table itself is read by :mod:`sofp.tables`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from planning.calendar import parse_month
from planning.measures import ACTUAL_COLUMNS, COMPUTED_MEASURES, PLAN_COLUMNS
from sofp.errors import Problem, problems_sorted
from sofp.gc_pause import collector_paused
from sofp.tables import (
    CSV,
    NUMBER_RE,
    CellError,
    FileUnreadable,
    Table,
    blank,
    cell_problem,
    decode_text,
    file_format,
    header_name,
    parse_code,
    parse_number,
    read_header,
    read_table,
    show,
)


def parse_month_cell(cell: object) -> dt.date:
    """``YYYY-MM`` text (or an Excel date on the 1st) → the month's first day."""
    if isinstance(cell, dt.datetime | dt.date):
        day = cell.date() if isinstance(cell, dt.datetime) else cell
        if day.day != 1:
            raise CellError(
                f"{day.isoformat()} is a date; write the month as YYYY-MM", code="bad_month"
            )
        return day
    text = "" if cell is None else str(cell).strip()
    if not text:
        raise CellError("is empty; write the month as YYYY-MM, e.g. 2027-01", code="required")
    month = parse_month(text)
    if month is None:
        raise CellError(
            f"{show(text)} is not a month; write YYYY-MM, e.g. 2027-01", code="bad_month"
        )
    return month


@dataclass(frozen=True)
class PlanRow:
    """One input cell of a plan file; ``value=None`` means the value cell was blank."""

    line: int
    value_stream: str
    product_family: str
    month: dt.date
    measure: str
    value: Decimal | None
    column: str = ""  # the wide layout's month column (problems name it)


@dataclass(frozen=True)
class PlanColumns:
    """A plan file's input cells as columns, in file order (one entry per cell):
    what the fast reader gives the bulk import. ``month`` holds first days of months;
    ``value`` Decimals, None where the value was blank (the cell is cleared)."""

    line: list[int]
    value_stream: list[str]
    product_family: list[str]
    month: list[dt.date]
    measure: list[str]
    value: list[Decimal | None]

    def __len__(self) -> int:
        return len(self.line)


class PlanRows(Sequence):
    """The :class:`PlanRow` s of a file read column-wise, built only when asked for:
    the bulk import reads ``columns`` and never needs one object per cell."""

    def __init__(self, columns: PlanColumns) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns)

    def _row(self, i: int) -> PlanRow:
        c = self.columns
        return PlanRow(
            line=c.line[i],
            value_stream=c.value_stream[i],
            product_family=c.product_family[i],
            month=c.month[i],
            measure=c.measure[i],
            value=c.value[i],
        )

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._row(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._row(i)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented


@dataclass
class ParsedPlan(Table):
    """``rows`` are :class:`PlanRow`; computed measures skipped are counted."""

    computed_skipped: int = 0
    layout: str = "long"


# The grid's own layout ("wide"): one row per stream, family and measure, one column
# per month. Told apart from the long layout by its header.
WIDE_KEYS: tuple[str, ...] = ("value_stream", "product_family", "measure")


def month_header(name: str) -> dt.date | None:
    """A wide file's month column: ``2027-03`` (or the date Excel made of it)."""
    text = name.strip()
    if len(text) >= 10 and text[7:10] == "-01":  # 2027-03-01 or 2027-03-01 00:00:00
        text = text[:7]
    return parse_month(text) if len(text) == 7 else None


def plan_layout(header: list[str]) -> str:
    """``wide`` when the header has the wide keys and month columns (and not the long
    layout's ``month``/``value``), else ``long``."""
    if (
        all(k in header for k in WIDE_KEYS)
        and "month" not in header
        and "value" not in header
        and any(month_header(h) for h in header)
    ):
        return "wide"
    return "long"


def parse_plan(*, data: bytes, filename: str = "") -> ParsedPlan:
    """Rows of a plan file, long (``value_stream,product_family,month,measure,value``)
    or wide (``value_stream,product_family,measure,YYYY-MM…``), told by the header.

    Rows of computed measures (``revenue``, ``days_of_supply``…) are skipped and
    counted, so an exported file can be re-imported. Rows with a problem are left out
    of ``rows`` and described in ``errors``.
    """
    if plan_layout(read_header(data=data, filename=filename)) == "wide":
        return parse_plan_wide(data=data, filename=filename)
    with collector_paused():
        fast = _parse_plan_csv_fast(data=data, filename=filename)
    if fast is not None:
        return fast
    table = read_table(data=data, filename=filename, columns=PLAN_COLUMNS)
    rows, problems, skipped = _long_rows(table, skip=COMPUTED_MEASURES)
    return ParsedPlan(
        format=table.format,
        rows=rows,
        errors=problems_sorted([*table.errors, *problems]),
        computed_skipped=skipped,
    )


def _long_rows(
    table: Table, *, skip: Collection[str] = ()
) -> tuple[list[PlanRow], list[Problem], int]:
    """The rows of a long table (``value_stream,product_family,month,measure,value``)
    read line by line: the good rows, the problems of the others by line and column,
    and how many rows of a measure in ``skip`` were left out (counted, not read)."""
    rows: list[PlanRow] = []
    problems: list[Problem] = []
    skipped = 0
    for line, cells in table.rows:
        measure = parse_code(cells["measure"]).lower()
        if measure in skip:
            skipped += 1
            continue
        found = []
        if not measure:
            found.append(
                Problem("required", "is empty", line=line, column="measure", field="measure")
            )
        try:
            month = parse_month_cell(cells["month"])
        except CellError as exc:
            found.append(cell_problem(exc, line=line, column="month"))
        try:
            value = parse_number(cells["value"])
        except CellError as exc:
            found.append(cell_problem(exc, line=line, column="value"))
        if found:
            problems.extend(found)
            continue
        rows.append(
            PlanRow(
                line=line,
                value_stream=parse_code(cells["value_stream"]),
                product_family=parse_code(cells["product_family"]),
                month=month,
                measure=measure,
                value=value,
            )
        )
    return rows, problems, skipped


def parse_plan_wide(*, data: bytes, filename: str = "") -> ParsedPlan:
    """Rows of a wide plan file: each non-blank month cell is one input cell (a blank
    cell leaves the stored value as it is). Computed rows are skipped and counted;
    problems name the line and the month column."""
    header = read_header(data=data, filename=filename)
    months: list[tuple[str, dt.date]] = []
    seen: dict[dt.date, str] = {}
    errors: list[Problem] = []
    for name in header:
        month = month_header(name)
        if month is None:
            continue
        if month in seen:
            errors.append(
                Problem(
                    "duplicate_column",
                    f"month {month:%Y-%m} has two columns ({seen[month]} and {name})",
                    line=1,
                    column=name,
                )
            )
            continue
        seen[month] = name
        months.append((name, month))
    table = read_table(
        data=data, filename=filename, columns=WIDE_KEYS + tuple(n for n, _ in months)
    )
    parsed = ParsedPlan(format=table.format, errors=list(table.errors) + errors, layout="wide")
    for line, cells in table.rows:
        measure = parse_code(cells["measure"]).lower()
        if measure in COMPUTED_MEASURES:
            parsed.computed_skipped += 1
            continue
        if not measure:
            parsed.errors.append(
                Problem("required", "is empty", line=line, column="measure", field="measure")
            )
            continue
        stream = parse_code(cells["value_stream"])
        family = parse_code(cells["product_family"])
        for name, month in months:
            raw = cells[name]
            if blank(raw):
                continue
            try:
                value = parse_number(raw)
            except CellError as exc:
                parsed.errors.append(cell_problem(exc, line=line, column=name))
                continue
            parsed.rows.append(
                PlanRow(
                    line=line,
                    value_stream=stream,
                    product_family=family,
                    month=month,
                    measure=measure,
                    value=value,
                    column=name,
                )
            )
    parsed.errors = problems_sorted(parsed.errors)
    return parsed


def parse_actuals(*, data: bytes, filename: str = "") -> Table:
    """Rows of an actuals file (long CSV or .xlsx:
    ``value_stream,product_family,month,measure,value``) as :class:`PlanRow`; a blank
    value clears the fact. Codes, scopes, months, signs and rights are checked by
    ``actuals_upsert``, which names the same line."""
    table = read_table(data=data, filename=filename, columns=ACTUAL_COLUMNS)
    rows, problems, _ = _long_rows(table)
    return Table(format=table.format, rows=rows, errors=problems_sorted([*table.errors, *problems]))


_MONTH_FAST = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _parse_plan_csv_fast(*, data: bytes, filename: str) -> ParsedPlan | None:
    """A clean long CSV read column-wise with pandas (rows as :class:`PlanRows`); None
    when anything is unusual — quotes, blank or ragged lines, a bad header, any cell
    :func:`parse_plan` would question — and ``parse_plan`` then reads it line by line,
    naming every problem. Only the detection is vectorised, never the verdict."""
    if file_format(data=data, filename=filename) != CSV:
        return None
    try:
        text = decode_text(data)
    except FileUnreadable:
        return None
    text = text.replace("\r\n", "\n")
    if '"' in text or "\r" in text or "\x00" in text:
        return None
    try:
        import pandas as pd

        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except Exception:  # ragged lines, an empty file...: the line reader says what
        return None
    if len(frame) < 2 or frame.isna().to_numpy().any():
        return None
    names = [header_name(h) for h in frame.iloc[0]]
    if not all(names) or len(set(names)) != len(names) or any(c not in names for c in PLAN_COLUMNS):
        return None
    body = frame.iloc[1:]
    # Python's strip() takes Unicode blanks too; a text without any needs none.
    needs_strip = not text.isascii() or any(c in text for c in " \t\x0b\x0c")
    columns_text = [
        body.iloc[:, j].str.strip() if needs_strip else body.iloc[:, j]
        for j in range(body.shape[1])
    ]
    blank_line = np.logical_and.reduce([(col == "").to_numpy() for col in columns_text])
    if blank_line.any():
        return None
    cells = {c: columns_text[names.index(c)] for c in PLAN_COLUMNS}
    # Each distinct measure, month and number is checked once (files repeat them).
    lowered = {m: m.lower() for m in cells["measure"].unique()}
    measure = cells["measure"].map(lowered)
    computed = measure.isin(COMPUTED_MEASURES).to_numpy()
    keep = ~computed
    measure, month, value = measure[keep], cells["month"][keep], cells["value"][keep]
    if (measure == "").any():
        return None
    months = {}
    for m in month.unique():
        if not (_MONTH_FAST.fullmatch(m) and 1900 <= int(m[:4]) <= 2999):
            return None
        months[m] = dt.date(int(m[:4]), int(m[5:7]), 1)
    numbers: dict[str, Decimal | None] = {"": None}
    for v in value.unique():
        if v and not NUMBER_RE.fullmatch(v):
            return None  # text, formulas, thousands separators: problems, told line by line
        if v:
            numbers[v] = Decimal(v)
    lines = (np.flatnonzero(keep) + 2).tolist()  # line 1 is the header
    columns = PlanColumns(
        line=lines,
        value_stream=cells["value_stream"][keep].tolist(),
        product_family=cells["product_family"][keep].tolist(),
        month=[months[m] for m in month.tolist()],
        measure=measure.tolist(),
        value=[numbers[v] for v in value.tolist()],
    )
    return ParsedPlan(
        format=CSV,
        rows=PlanRows(columns),  # type: ignore[arg-type]
        computed_skipped=int(computed.sum()),
    )
