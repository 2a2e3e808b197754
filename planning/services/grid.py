"""Saving cells typed or pasted into the planner's grid.

The grid sends a list of raw cells (row measure, family, month, text or number, the
version the planner saw). This module turns them into :class:`CellInput` with errors
keyed by the cell's position in the request, so the browser can show each reason at
its cell, then hands them to :func:`plan_values_upsert` — the one write path, atomic,
version-checked — and maps its errors back to cells the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from planning.calendar import parse_month
from planning.measures import COMPANY, MEASURE_LABELS, MEASURE_SCOPE
from planning.models import PlanningCycle, PlanValue, PlanValueChange
from planning.selectors.grid import actuals_last_month
from planning.services.plan_values import (
    CellInput,
    UpsertResult,
    plan_value_comment_set,
    plan_values_upsert,
)
from sofp.exceptions import ApplicationError, ValidationFailed, VersionConflict
from valuestreams.models import ProductFamily, ValueStream

MAX_CELLS_PER_SAVE = 5000
MAX_COMMENT_LENGTH = 2000
_SPACES = str.maketrans("", "", " \u00a0\u202f\t'_")
# Commas are accepted only as thousands separators: "1,234.5" yes, "1234,5" never
# (a European decimal comma read as a separator would silently multiply by ten).
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


class GridCellsRejected(ValidationFailed):
    """Some cells were refused; ``cells`` maps request index → reason. Nothing was saved."""

    def __init__(self, message: str, *, cells: dict[int, str], errors: list[str]) -> None:
        super().__init__(message, errors=errors)
        self.cells = cells


@dataclass
class GridSaveResult:
    result: UpsertResult
    versions: list[int] = field(default_factory=list)


def parse_grid_number(raw: Any) -> Decimal | None:
    """A number as typed or pasted: "1,234.5", "1 234", 1234.5; empty clears the cell.

    Commas are thousands separators (the grid's display format and Excel's en-US copy).
    Raises ValueError with a message meant for the planner.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, int | float):
        value = Decimal(str(raw))
    elif isinstance(raw, str):
        text = raw.strip().translate(_SPACES)
        if text == "":
            return None
        if "," in text:
            if not _THOUSANDS.match(text):
                raise ValueError(
                    f"“{raw.strip()[:40]}”: use a dot for decimals and commas only between "
                    "thousands (1,234.5)"
                )
            text = text.replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"“{raw.strip()[:40]}” is not a number") from None
    else:
        raise ValueError("value must be a number")
    if not value.is_finite():
        raise ValueError(f"“{raw}” is not a number")
    return value


def cell_label(*, code: str, measure: str, month: dt.date) -> str:
    """Human name of a cell, also used to map the service's messages back to cells."""
    who = code or "Company"
    return f"{who} · {MEASURE_LABELS.get(measure, measure)} · {month:%Y-%m}"


def _parse_cells(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    raw_cells: list[Any],
    today: dt.date,
) -> tuple[list[CellInput], dict[int, str]]:
    errors: dict[int, str] = {}
    cells: list[CellInput] = []
    last_actual = actuals_last_month(today=today)
    stream_code = value_stream.code if value_stream else ""
    for i, raw in enumerate(raw_cells):
        if not isinstance(raw, dict):
            errors[i] = "cell must be an object"
            continue
        measure = str(raw.get("measure") or "")
        family = str(raw.get("family") or "").strip()
        month = parse_month(str(raw.get("month") or ""))
        scope = MEASURE_SCOPE.get(measure)
        if scope is None:
            errors[i] = f"unknown measure {measure!r}"
            continue
        if month is None:
            errors[i] = f"bad month {raw.get('month')!r} (expected YYYY-MM)"
            continue
        if (value_stream is None) != (scope == COMPANY):
            where = "the company page" if scope == COMPANY else "a value stream's grid"
            errors[i] = f"{MEASURE_LABELS[measure]} is entered on {where}"
            continue
        if measure == "actual_sales" and month > last_actual:
            errors[i] = (
                f"actual sales can only be entered for months that have started "
                f"(up to {last_actual:%Y-%m})"
            )
            continue
        version = raw.get("version")
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 0
        ):
            errors[i] = "version must be a whole number ≥ 0"
            continue
        try:
            value = parse_grid_number(raw.get("value"))
        except ValueError as exc:
            errors[i] = str(exc)
            continue
        if value is not None and value < 0:
            errors[i] = f"{MEASURE_LABELS[measure]} must not be negative (got {value})"
            continue
        cells.append(
            CellInput(
                value_stream=stream_code,
                product_family=family if scope != COMPANY else "",
                month=month,
                measure=measure,
                value=value,
                version=version,
                label=cell_label(code=family or stream_code, measure=measure, month=month),
            )
        )
    return cells, errors


def grid_save(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    raw_cells: list[Any],
    user: AbstractBaseUser,
    today: dt.date,
) -> GridSaveResult:
    """Save a block of grid cells all or nothing, checking the versions the user saw.

    Raises GridCellsRejected (400, reasons per cell), PermissionDenied (403),
    FrozenCycleError (409) or VersionConflict (409; each conflict carries ``index``).
    """
    if not isinstance(raw_cells, list) or not raw_cells:
        raise ValidationFailed("Send a non-empty list of cells.")
    if len(raw_cells) > MAX_CELLS_PER_SAVE:
        raise ValidationFailed(
            f"Too many cells in one save ({len(raw_cells)}; at most {MAX_CELLS_PER_SAVE})."
        )
    cells, errors = _parse_cells(
        cycle=cycle, value_stream=value_stream, raw_cells=raw_cells, today=today
    )
    if errors:
        raise GridCellsRejected(
            f"{len(errors)} cell(s) refused; nothing was saved.",
            cells=errors,
            errors=[f"cell {i + 1}: {msg}" for i, msg in errors.items()],
        )
    by_label = {c.label: i for i, c in enumerate(cells)}  # no cell was skipped
    try:
        result = plan_values_upsert(
            cycle=cycle,
            cells=cells,
            user=user,
            source=PlanValueChange.Source.GRID,
            check_versions=True,
        )
    except VersionConflict as exc:
        for conflict in exc.conflicts:
            conflict["index"] = by_label.get(conflict.get("label"))
        raise
    except ValidationFailed as exc:
        per_cell: dict[int, str] = {}
        for message in exc.errors:
            label, _, reason = message.partition(": ")
            index = by_label.get(label)
            if index is not None and index not in per_cell:
                per_cell[index] = reason
        raise GridCellsRejected(exc.message, cells=per_cell, errors=exc.errors) from exc
    family_ids = dict(
        ProductFamily.objects.filter(
            code__in={c.product_family for c in cells if c.product_family}
        ).values_list("code", "pk")
    )
    stored = {(k[1], k[2], k[3]): pv.version for k, pv in result.values.items()}
    versions = [
        stored.get((family_ids.get(c.product_family), c.month, c.measure), 0) for c in cells
    ]
    return GridSaveResult(result=result, versions=versions)


def grid_comment_set(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    family_code: str,
    measure: str,
    month_text: str,
    text: str,
    user: AbstractBaseUser,
) -> PlanValue:
    """Attach an assumption to a grid cell (it must hold a value)."""
    month = parse_month(month_text or "")
    scope = MEASURE_SCOPE.get(measure)
    if scope is None or month is None:
        raise ValidationFailed("Unknown cell: check the measure and month.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise ValidationFailed(f"A comment has at most {MAX_COMMENT_LENGTH} characters.")
    qs = PlanValue.objects.filter(cycle=cycle, measure=measure, month=month)
    if scope == COMPANY:
        if value_stream is not None:
            raise ValidationFailed("Company values are commented on the company page.")
        qs = qs.filter(value_stream__isnull=True)
    else:
        if value_stream is None:
            raise ValidationFailed("Value-stream cells are commented on their grid.")
        qs = qs.filter(value_stream=value_stream)
        if family_code:
            family = ProductFamily.objects.filter(code=family_code).first()
            if family is None or family.value_stream_id != value_stream.pk:
                raise ValidationFailed(
                    f"Product family {family_code!r} is not in value stream {value_stream.code!r}."
                )
            qs = qs.filter(product_family=family)
        else:
            qs = qs.filter(product_family__isnull=True)
    plan_value = qs.select_related("value_stream", "product_family").first()
    if plan_value is None:
        raise ApplicationError("Enter a value in this cell before adding a comment.")
    return plan_value_comment_set(plan_value=plan_value, text=text, user=user)
