"""Importing a plan file into a cycle: all or nothing, through ``plan_values_upsert``.

File-level problems come from :mod:`planning.imports`; cell-level ones (codes, scope,
horizon, sign, duplicates, permissions) from the upsert. When the file has problems of
both kinds, the readable rows are still validated in a dry run so that the planner sees
every problem at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning.imports import PlanRow, PlanRows
from planning.measures import DEFAULT_HORIZON
from planning.models import PlanningCycle, PlanValueChange
from planning.services.cycles import cycle_create
from planning.services.plan_values import (
    CellChange,
    CellInput,
    UpsertResult,
    plan_values_upsert,
)
from planning.services.plan_values_bulk import plan_columns_upsert
from sofp.errors import PermissionDenied, Problem, ValidationFailed, problems_sorted

PREVIEW_CELLS = 500


@dataclass
class PlanImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    cycle: PlanningCycle
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    cleared: int = 0
    computed_skipped: int = 0
    cycle_created: bool = False
    scenario_created: bool = False
    dry_run: bool = False
    by_stream: dict[str, dict[str, int]] = field(default_factory=dict)
    # The cells that change, old → new, for the preview (the first PREVIEW_CELLS).
    cells: list[CellChange] = field(default_factory=list)

    @classmethod
    def from_upsert(cls, *, cycle: PlanningCycle, result: UpsertResult, **kw) -> PlanImportResult:
        return cls(
            cycle=cycle,
            added=result.added,
            changed=result.changed,
            unchanged=result.unchanged,
            cleared=result.deleted,
            by_stream={
                code: {
                    "added": t["added"],
                    "changed": t["changed"],
                    "unchanged": t["unchanged"],
                    "cleared": t["deleted"],
                }
                for code, t in sorted(result.by_stream.items())
            },
            cells=sorted(
                result.changes,
                key=lambda c: (c.value_stream, c.product_family, c.measure, c.month),
            )[:PREVIEW_CELLS],
            **kw,
        )

    @property
    def touched(self) -> int:
        return self.added + self.changed + self.cleared

    def summary(self) -> str:
        text = f"{self.added:,} added, {self.changed:,} changed, {self.unchanged:,} unchanged"
        if self.cleared:
            text += f", {self.cleared:,} cleared"
        return text


def _cells(rows: Sequence[PlanRow]) -> list[CellInput]:
    return [
        CellInput(
            r.value_stream,
            r.product_family,
            r.month,
            r.measure,
            r.value,
            line=r.line,
            column=r.column,
        )
        for r in rows
    ]


def plan_import(
    *,
    cycle: PlanningCycle,
    rows: Sequence[PlanRow],
    user: AbstractBaseUser | None,
    dry_run: bool = False,
    parse_errors: Sequence[Problem] = (),
    computed_skipped: int = 0,
) -> PlanImportResult:
    """Write a parsed plan file into ``cycle`` (``user=None``: an operator's command).

    A blank value clears the cell. Raises ValidationFailed listing every problem of the
    file (``parse_errors`` plus the upsert's), PermissionDenied, or FrozenCycleError;
    in each case nothing is written.
    """
    if isinstance(rows, PlanRows) and not parse_errors:
        # A clean file read column-wise is checked and written in bulk; when any cell
        # breaks a rule, the cell-by-cell path below names every problem.
        bulk = plan_columns_upsert(
            cycle=cycle,
            columns=rows.columns,
            user=user,
            source=PlanValueChange.Source.IMPORT,
            dry_run=dry_run,
            preview=PREVIEW_CELLS,
        )
        if bulk is not None:
            return PlanImportResult.from_upsert(
                cycle=cycle, result=bulk, dry_run=dry_run, computed_skipped=computed_skipped
            )
    cells = _cells(rows)
    if parse_errors:
        problems = list(parse_errors)
        try:
            plan_values_upsert(
                cycle=cycle,
                cells=cells,
                user=user,
                source=PlanValueChange.Source.IMPORT,
                dry_run=True,
            )
        except (ValidationFailed, PermissionDenied) as exc:
            problems += exc.problems
        problems = problems_sorted(problems)
        raise ValidationFailed(
            f"{len(problems):,} problem(s) found; nothing was saved.", problems=problems
        )
    result = plan_values_upsert(
        cycle=cycle,
        cells=cells,
        user=user,
        source=PlanValueChange.Source.IMPORT,
        dry_run=dry_run,
    )
    return PlanImportResult.from_upsert(
        cycle=cycle, result=result, dry_run=dry_run, computed_skipped=computed_skipped
    )


def plan_import_for_month(
    *,
    month: dt.date,
    rows: Sequence[PlanRow],
    user: AbstractBaseUser | None,
    dry_run: bool = False,
    parse_errors: Sequence[Problem] = (),
    computed_skipped: int = 0,
    horizon: int = DEFAULT_HORIZON,
    scenario: str = "",
) -> PlanImportResult:
    """Like :func:`plan_import` for the cycle of ``month``, creating it (with its five
    steps) when missing — in the same transaction, so a rejected file leaves no cycle.

    With ``scenario`` the file goes into that scenario of the cycle, which is created
    from the plan first when missing (and is not kept when the file is rejected)."""
    from planning.models import Scenario
    from planning.selectors.scenarios import scenario_name_check
    from planning.services.scenarios import scenario_create

    if scenario:
        scenario_name_check(scenario)
    with transaction.atomic():
        cycle = PlanningCycle.objects.filter(month=month.replace(day=1)).first()
        created = cycle is None
        if created:
            cycle = cycle_create(month=month, horizon=horizon, user=user)
        scenario_created = False
        if scenario:
            found = Scenario.objects.filter(cycle=cycle, name=scenario).first()
            if found is None:
                found = scenario_create(cycle=cycle, name=scenario, user=user)
                scenario_created = True
            found.cycle = cycle
            cycle = cycle.in_scenario(found)
        result = plan_import(
            cycle=cycle,
            rows=rows,
            user=user,
            dry_run=dry_run,
            parse_errors=parse_errors,
            computed_skipped=computed_skipped,
        )
        result.cycle_created = created
        result.scenario_created = scenario_created
        if dry_run:
            transaction.set_rollback(True)
        return result
