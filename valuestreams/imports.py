"""Reading master-data files (CSV or .xlsx): one row per product family.

Only the file: header, blanks, numbers written as text. Codes, signs, decimals, the
days-of-supply band, duplicates and moves between streams are checked by
:func:`valuestreams.services.master_import`, which names the same line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sofp.errors import Problem, problems_sorted
from sofp.tables import CellError, Table, cell_problem, parse_code, parse_number, read_table

MASTER_COLUMNS: tuple[str, ...] = (
    "value_stream",
    "value_stream_name",
    "product_family",
    "family_name",
    "unit_price",
    "unit_material_cost",
    "hours_per_unit",
    "dos_min",
    "dos_max",
)
MASTER_TEXT_COLUMNS = ("value_stream", "value_stream_name", "product_family", "family_name")
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


class ParsedMaster(Table):
    """``rows`` are :class:`MasterRow`."""


def parse_master(*, data: bytes, filename: str = "") -> ParsedMaster:
    """Rows of a master-data file (header as in ``MASTER_COLUMNS``)."""
    table = read_table(data=data, filename=filename, columns=MASTER_COLUMNS)
    parsed = ParsedMaster(format=table.format, errors=list(table.errors))
    for line, cells in table.rows:
        problems = []
        texts = {c: parse_code(cells[c]) for c in MASTER_TEXT_COLUMNS}
        for column, text in texts.items():
            if not text:
                problems.append(_empty(line, column))
        numbers: dict[str, Decimal | None] = {}
        for column in MASTER_NUMBER_COLUMNS:
            try:
                numbers[column] = parse_number(cells[column])
            except CellError as exc:
                problems.append(cell_problem(exc, line=line, column=column))
                continue
            if numbers[column] is None and column in MASTER_REQUIRED_NUMBERS:
                problems.append(_empty(line, column))
        if problems:
            parsed.errors.extend(problems)
            continue
        parsed.rows.append(MasterRow(line=line, **texts, **numbers))
    parsed.errors = problems_sorted(parsed.errors)
    return parsed


def _empty(line: int, column: str) -> Problem:
    return Problem("required", "is empty", line=line, column=column, field=column)
