"""Saving cells typed or pasted into the planner's grid.

The grid sends a list of raw cells (row measure, family, month, text or number, the
version the planner saw). This module turns them into :class:`CellInput` — or into a
:class:`~sofp.errors.Problem` whose ``index`` is the cell's position in the request, so
the browser can show each reason at its cell — then hands them, in the same order, to
:func:`plan_values_upsert` (the one write path, atomic, version-checked), whose problems
and conflicts carry that same ``index``.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning.calendar import parse_month
from planning.measures import COMPANY, MEASURE_LABELS, MEASURE_SCOPE
from planning.models import (
    EmptyCellComment,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    cycle_scenario,
)
from planning.selectors.actuals import GRID_ACTUAL_MEASURES, current_month
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.plans import PlanRights, user_can_edit_plan
from planning.services.plan_values import (
    CellInput,
    UpsertResult,
    _cycle_locked,
    comment_clean,
    plan_value_comment_set,
    plan_values_upsert,
)
from sofp.errors import PermissionDenied, Problem, ValidationFailed, VersionConflict
from sofp.tables import CellError
from valuestreams.models import ProductFamily, ValueStream

MAX_CELLS_PER_SAVE = 5000
_SPACES = str.maketrans("", "", " \u00a0\u202f\t'_")
# Commas are accepted only as thousands separators: "1,234.5" yes, "1234,5" never
# (a European decimal comma read as a separator would silently multiply by ten).
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


class GridCellsRejected(ValidationFailed):
    """Some cells were refused; each problem's ``index`` is the cell's position in the
    save. Nothing was saved. The grid reads the reasons per cell from ``cells``."""

    @property
    def cells(self) -> dict[int, str]:
        """Request index → the first reason given for that cell."""
        out: dict[int, str] = {}
        for p in self.problems:
            if p.index is not None:
                out.setdefault(p.index, p.message)
        return out

    def extensions(self) -> dict[str, Any]:
        return {"cells": {str(i): reason for i, reason in self.cells.items()}}


@dataclass
class GridSaveResult:
    result: UpsertResult
    versions: list[int] = field(default_factory=list)


def parse_grid_number(raw: Any) -> Decimal | None:
    """A number as typed or pasted: "1,234.5", "1 234", 1234.5; empty clears the cell.

    Commas are thousands separators (the grid's display format and Excel's en-US copy).
    Raises CellError with a message meant for the planner.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise CellError(f"{raw!r} is not a number", code="not_a_number")
    if isinstance(raw, int | float):
        value = Decimal(str(raw))
    elif isinstance(raw, str):
        text = raw.strip().translate(_SPACES)
        if text == "":
            return None
        if "," in text:
            if not _THOUSANDS.match(text):
                raise CellError(
                    f"“{raw.strip()[:40]}”: use a dot for decimals and commas only between "
                    "thousands (1,234.5)",
                    code="not_a_number",
                )
            text = text.replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise CellError(f"“{raw.strip()[:40]}” is not a number", code="not_a_number") from None
    else:
        raise CellError("value must be a number", code="not_a_number")
    if not value.is_finite():
        raise CellError(f"“{raw}” is not a number", code="not_a_number")
    return value


def cell_label(*, code: str, measure: str, month: dt.date) -> str:
    """Human name of a cell, as messages that point at another cell name it."""
    who = code or "Company"
    return f"{who} · {MEASURE_LABELS.get(measure, measure)} · {month:%Y-%m}"


def _parse_cells(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    raw_cells: list[Any],
    today: dt.date,
) -> tuple[list[CellInput], list[Problem]]:
    problems: list[Problem] = []
    cells: list[CellInput] = []
    last_actual = current_month(today=today)
    stream_code = value_stream.code if value_stream else ""
    for i, raw in enumerate(raw_cells):
        if not isinstance(raw, dict):
            problems.append(Problem("not_an_object", "cell must be an object", index=i))
            continue
        parsed = _parse_cell(raw, company=value_stream is None, last_actual=last_actual)
        if isinstance(parsed, Problem):
            problems.append(
                replace(
                    parsed,
                    index=i,
                    value_stream=stream_code or None,
                    product_family=str(raw.get("family") or "").strip() or None,
                    month=str(raw.get("month") or "") or None,
                    measure=str(raw.get("measure") or "") or None,
                )
            )
            continue
        family, month, measure, value, version = parsed
        label = cell_label(code=family or stream_code, measure=measure, month=month)
        cells.append(CellInput(stream_code, family, month, measure, value, version, label))
    return cells, problems


def _parse_cell(raw: dict, *, company: bool, last_actual: dt.date):
    """``(family, month, measure, value, version)`` of one raw cell, or the Problem."""
    measure = str(raw.get("measure") or "")
    family = str(raw.get("family") or "").strip()
    month = parse_month(str(raw.get("month") or ""))
    scope = MEASURE_SCOPE.get(measure)
    if scope is None:
        return Problem("unknown_measure", f"unknown measure {measure!r}", field="measure")
    if month is None:
        message = f"bad month {raw.get('month')!r} (expected YYYY-MM)"
        return Problem("bad_month", message, field="month")
    if company != (scope == COMPANY):
        where = "the company page" if scope == COMPANY else "a value stream's grid"
        message = f"{MEASURE_LABELS[measure]} is entered on {where}"
        return Problem("wrong_page", message, field="measure")
    if measure == "actual_sales" and month > last_actual:
        message = (
            "actual sales can only be entered for months that have started "
            f"(up to {last_actual:%Y-%m})"
        )
        return Problem("future_actuals", message, field="month")
    version = raw.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 0
    ):
        return Problem("bad_version", "version must be a whole number ≥ 0", field="version")
    try:
        value = parse_grid_number(raw.get("value"))
    except CellError as exc:
        return Problem(exc.code, str(exc), field="value")
    if value is not None and value < 0:
        message = f"{MEASURE_LABELS[measure]} must not be negative (got {value})"
        return Problem("negative", message, field="value")
    return (family if scope != COMPANY else ""), month, measure, value, version


def grid_save(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    raw_cells: list[Any],
    user: AbstractBaseUser,
    today: dt.date,
    rights: PlanRights | None = None,
) -> GridSaveResult:
    """Save a block of grid cells all or nothing, checking the versions the user saw.

    Raises GridCellsRejected (400, reasons per cell), PermissionDenied (403),
    FrozenCycleError (409) or VersionConflict (409; each conflict carries ``index``).
    The cells reach the upsert in the order they came, none skipped, so every
    problem's and conflict's ``index`` is the cell's position in this save.
    ``rights``: the user's plan rights when the caller read them in this request.
    """
    if not isinstance(raw_cells, list) or not raw_cells:
        raise ValidationFailed("Send a non-empty list of cells.", code="no_cells")
    if len(raw_cells) > MAX_CELLS_PER_SAVE:
        raise ValidationFailed(
            f"Too many cells in one save ({len(raw_cells):,}; at most {MAX_CELLS_PER_SAVE:,}).",
            code="too_many_cells",
        )
    cells, problems = _parse_cells(
        cycle=cycle, value_stream=value_stream, raw_cells=raw_cells, today=today
    )
    if problems:
        raise GridCellsRejected(
            f"{len(problems):,} cell(s) refused; nothing was saved.", problems=problems
        )
    facts = [i for i, c in enumerate(cells) if c.measure in GRID_ACTUAL_MEASURES]
    plan = [i for i, c in enumerate(cells) if c.measure not in GRID_ACTUAL_MEASURES]
    versions = [0] * len(cells)
    order = plan
    try:
        # One transaction for both stores only when the save holds facts (a plain plan
        # save is atomic in plan_values_upsert already).
        with transaction.atomic() if facts else nullcontext():
            result = UpsertResult()
            if plan:
                result = plan_values_upsert(
                    cycle=cycle,
                    cells=[cells[i] for i in plan],
                    user=user,
                    source=PlanValueChange.Source.GRID,
                    check_versions=True,
                    rights=rights,
                )
                for i, stored in zip(plan, result.stored, strict=True):
                    versions[i] = stored.version
            if facts:
                order = facts
                _actual_rows_save(
                    cycle=cycle, cells=cells, facts=facts, user=user, result=result, out=versions
                )
    except (ValidationFailed, PermissionDenied, VersionConflict) as exc:
        raise _in_request_order(exc, order=order) from exc
    return GridSaveResult(result=result, versions=versions)


def _actual_rows_save(
    *,
    cycle: PlanningCycle,
    cells: list[CellInput],
    facts: list[int],
    user: AbstractBaseUser,
    result: UpsertResult,
    out: list[int],
) -> None:
    """The grid's actual rows are facts: they go to ``actuals_upsert`` (the one path
    of the Month close page, ``import_actuals`` and the API), version-checked against
    the facts' versions. The grid refused months that have not started already
    (``current_month``); a frozen cycle's grid takes no input at all."""
    from planning.services.actuals import ActualInput, actuals_upsert

    # The writers' shared lock (approval waits for it): the facts reach the other open
    # cycles' plans, and two such saves in two cycles must not wait for each other.
    cycle_refuse_frozen(_cycle_locked(cycle))
    saved = actuals_upsert(
        cells=[
            ActualInput(
                cells[i].value_stream,
                cells[i].product_family,
                cells[i].month,
                cells[i].measure,
                cells[i].value,
                version=cells[i].version,
            )
            for i in facts
        ],
        user=user,
        source=PlanValueChange.Source.GRID,
        check_versions=True,
        any_month=True,
    )
    for i, (_value, version) in zip(facts, saved.stored, strict=True):
        out[i] = version
    for outcome, n in saved.as_dict().items():
        setattr(result, outcome, getattr(result, outcome) + n)


def _in_request_order(exc, *, order: list[int]):
    """The error of one of the two writes (``order``: the request positions of the cells
    it was given), its problems' and conflicts' ``index`` put back to the cells'
    positions in the request, so the grid marks each cell."""

    def back(i):
        return order[i] if isinstance(i, int) and 0 <= i < len(order) else i

    if isinstance(exc, VersionConflict):
        exc.conflicts = [{**c, "index": back(c.get("index"))} for c in exc.conflicts]
        return exc
    problems = [replace(p, index=back(p.index)) for p in exc.problems]
    if isinstance(exc, PermissionDenied):
        return PermissionDenied(exc.message, problems=problems)
    if isinstance(exc, GridCellsRejected) or type(exc) is ValidationFailed:
        return GridCellsRejected(exc.message, problems=problems)
    return exc


def grid_comment_set(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    family_code: str,
    measure: str,
    month_text: str,
    text: str,
    user: AbstractBaseUser,
) -> PlanValue | EmptyCellComment:
    """Attach an assumption to a grid cell, also one without a value yet (kept as an
    :class:`EmptyCellComment`, so the cell stays empty rather than becoming 0)."""
    month = parse_month(month_text or "")
    scope = MEASURE_SCOPE.get(measure)
    if scope is None or month is None:
        raise ValidationFailed("Unknown cell: check the measure and month.")
    text = comment_clean(text)
    from planning.selectors.plans import cycle_values

    qs = cycle_values(cycle).filter(PlanValue.filled, measure=measure, month=month)
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
    if plan_value is None and cycle_scenario(cycle) is not None:
        raise ValidationFailed(
            "In a scenario, comment on a cell that holds a value (empty cells' notes "
            "belong to the plan)."
        )
    if plan_value is None:
        family = (
            ProductFamily.objects.get(code=family_code)
            if scope != COMPANY and family_code
            else None
        )
        return empty_cell_comment_set(
            cycle=cycle,
            value_stream=value_stream,
            family=family,
            measure=measure,
            month=month,
            text=text,
            user=user,
        )
    return plan_value_comment_set(plan_value=plan_value, text=text, user=user)


def empty_cell_comment_set(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    family: ProductFamily | None,
    measure: str,
    month: dt.date,
    text: str,
    user: AbstractBaseUser,
) -> EmptyCellComment:
    """Comment on an empty cell; same frozen and rights rules as its value. Empty text
    removes the comment (an unsaved EmptyCellComment with empty text is returned)."""
    with transaction.atomic():
        locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
        cycle_refuse_frozen(locked)
        if not user_can_edit_plan(user=user, value_stream=value_stream, measure=measure):
            where = (
                "company-wide" if value_stream is None else f"of value stream {value_stream.code!r}"
            )
            raise PermissionDenied(f"Not allowed: you may not change {measure} {where}")
        key = {
            "cycle": locked,
            "value_stream": value_stream,
            "product_family": family,
            "month": month,
            "measure": measure,
        }
        text = text.strip()
        if not text:
            EmptyCellComment.objects.filter(**key).delete()
            return EmptyCellComment(**key, text="")
        note, _ = EmptyCellComment.objects.update_or_create(
            **key, defaults={"text": text, "updated_by": user}
        )
        return note
