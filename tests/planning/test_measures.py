"""A computed number becomes a stored value one way, whoever computed it (the roll
forward's opening inventory, the statistical baseline), and a value to store is checked
one way, plan or fact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from planning.measures import MAX_VALUE, VALUE_QUANTUM, value_from_float, value_problems


@pytest.mark.parametrize(
    ("computed", "stored"),
    [
        (0.1 + 0.2, Decimal("0.3")),  # the shortest spelling, not 0.30000000000000004
        (0.0000025, Decimal("0.000002")),  # half-even: to the even neighbour
        (0.0000035, Decimal("0.000004")),
        (1234.5, Decimal("1234.5")),
        (7, Decimal("7")),
    ],
)
def test_value_from_float_keeps_the_stored_precision(computed, stored):
    value = value_from_float(computed)
    assert value == stored
    assert value.as_tuple().exponent == VALUE_QUANTUM.as_tuple().exponent


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        (None, []),
        (Decimal("0"), []),
        (MAX_VALUE - VALUE_QUANTUM, []),
        (MAX_VALUE, ["too_large"]),
        (Decimal("-0.5"), ["negative"]),
        (Decimal("NaN"), ["not_finite"]),
        (Decimal("-Infinity"), ["not_finite"]),
    ],
)
def test_value_problems_name_the_value_field(value, codes):
    found = value_problems("demand", value)
    assert [code for code, _, _ in found] == codes
    assert all(field == "value" for _, _, field in found)
