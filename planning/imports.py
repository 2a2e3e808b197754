"""Reading plan files (CSV or .xlsx, the long format of SOFP.md's file contract).

Only the file: header, blanks, months and numbers written as text. Codes, scopes,
horizons, signs, duplicates and permissions are checked by ``plan_values_upsert``,
which names the same line. The table itself is read by :mod:`sofp.tables`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from planning.calendar import parse_month
from planning.measures import COMPUTED_MEASURES, PLAN_COLUMNS
from sofp.errors import Problem, problems_sorted
from sofp.tables import (
    CellError,
    Table,
    cell_problem,
    parse_code,
    parse_number,
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


@dataclass
class ParsedPlan(Table):
    """``rows`` are :class:`PlanRow`; computed measures skipped are counted."""

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
            problems.append(
                Problem("required", "is empty", line=line, column="measure", field="measure")
            )
        try:
            month = parse_month_cell(cells["month"])
        except CellError as exc:
            problems.append(cell_problem(exc, line=line, column="month"))
        try:
            value = parse_number(cells["value"])
        except CellError as exc:
            problems.append(cell_problem(exc, line=line, column="value"))
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
    parsed.errors = problems_sorted(parsed.errors)
    return parsed
