"""Problems carry their row index and field from where they are found: no message is
parsed back. Each case puts one bad row at ``index`` behind good ones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import PermissionDenied, ValidationFailed

JAN, FEB = dt.date(2027, 1, 1), dt.date(2027, 2, 1)


def row(**kw) -> CellInput:
    base = {
        "value_stream": "A",
        "product_family": "A-1",
        "month": JAN,
        "measure": "demand",
        "value": Decimal("1"),
    }
    return CellInput(**{**base, **kw})


@pytest.mark.parametrize(
    ("bad", "index", "field", "code"),
    [
        (row(measure="x"), 3, "measure", "unknown_measure"),
        (row(value_stream="Q", product_family=""), 0, "value_stream", "unknown_value_stream"),
        (row(product_family="Q-1"), 12, "product_family", "unknown_product_family"),
        (row(product_family=""), 1, "product_family", "needs_product_family"),
        (row(value_stream=""), 1, "value_stream", "needs_value_stream"),
        (row(measure="available_hours"), 1, "product_family", "takes_no_product_family"),
        (row(product_family="B-1"), 2, "product_family", "family_in_other_stream"),
        (row(month=dt.date(2030, 1, 1)), 4, "month", "outside_horizon"),
        (row(measure="opening_inventory", month=FEB), 4, "month", "first_month_only"),
        (row(value=Decimal("-1")), 5, "value", "negative"),
        (row(value=Decimal("1E+50")), 5, "value", "too_large"),
        (row(value=Decimal("NaN")), 5, "value", "not_finite"),
    ],
)
def test_service_problems_name_index_and_field(plan, bad, index, field, code):
    with pytest.raises(ValidationFailed) as info:
        plan_values_upsert(cycle=plan, cells=[*_good(index), bad], user=None)
    (problem,) = [p for p in info.value.problems if p.code == code]
    assert (problem.index, problem.field) == (index, field)
    assert not problem.message.startswith("row ")
    assert problem.text == f"row {index}: {problem.message}"


def _good(n: int) -> list[CellInput]:
    """``n`` distinct good rows (production, one month each)."""
    return [
        CellInput("A", "A-1", dt.date(2027 + (i // 12), i % 12 + 1, 1), "production", Decimal(i))
        for i in range(n)
    ]


def test_a_duplicate_names_the_first_row_and_no_field(plan):
    cells = [*_good(2), row(), row()]
    with pytest.raises(ValidationFailed) as info:
        plan_values_upsert(cycle=plan, cells=cells, user=None)
    (problem,) = info.value.problems
    assert (problem.index, problem.field, problem.message) == (3, None, "duplicate of row 2")


def test_a_forbidden_row_names_its_index_and_the_value_stream(plan, planner_a):
    cells = [row(), row(value_stream="B", product_family="B-1")]
    with pytest.raises(PermissionDenied) as info:
        plan_values_upsert(cycle=plan, cells=cells, user=planner_a)
    (problem,) = info.value.problems
    assert (problem.index, problem.field) == (1, "value_stream")
    assert problem.message == "you are not a planner of value stream 'B'"


def test_a_problem_without_a_place_is_its_message(plan):
    error = ValidationFailed("cycle is frozen")
    (problem,) = error.problems
    assert (problem.index, problem.field, problem.text) == (None, None, "cycle is frozen")
