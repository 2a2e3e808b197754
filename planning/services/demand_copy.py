"""Copying a reference row (the statistical baseline, a launch's ramp) into demand.

"Use baseline" and "Use ramp" are the same act with a different source: look each cell's
number up, refuse the whole request when any cell has none (a problem per cell, nothing
written), and write the rest through the one write path with the version the user saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser

from planning.models import PlanningCycle
from planning.services.plan_values import CellInput, UpsertResult, plan_values_upsert
from sofp.errors import Problem, ValidationFailed

# (family code, month) → (value stream code, value), or None when the source has none.
Lookup = Callable[[str, dt.date], tuple[str, Decimal] | None]


def demand_copy(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser | None,
    cells: Sequence[tuple[str, dt.date, int | None]],
    lookup: Lookup,
    source: str,
    problem_code: str,
    missing: str,
    summary: str,
) -> UpsertResult:
    """Write ``lookup``'s number into demand for ``cells`` — ``(family code, month,
    version of the demand the user saw or None)``. A cell without one is a problem
    ``problem_code`` ("CODE has no {missing} for YYYY-MM"), and nothing is written
    ("N cell(s) have no {summary}; nothing was copied.")."""
    inputs: list[CellInput] = []
    problems: list[Problem] = []
    for i, (code, month, version) in enumerate(cells):
        found = lookup(code, month)
        if found is None:
            problems.append(
                Problem(
                    problem_code,
                    f"{code} has no {missing} for {month:%Y-%m}",
                    index=i,
                    field="value",
                    product_family=code,
                    month=f"{month:%Y-%m}",
                    measure="demand",
                )
            )
            continue
        vs, value = found
        inputs.append(CellInput(vs, code, month, "demand", value, version=version))
    if problems:
        raise ValidationFailed(
            f"{len(problems)} cell(s) have no {summary}; nothing was copied.", problems=problems
        )
    return plan_values_upsert(
        cycle=cycle, cells=inputs, user=user, source=source, check_versions=True
    )
