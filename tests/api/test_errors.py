"""The exception handler's mapping of service messages to row index and field."""

from __future__ import annotations

import pytest

from sofp.api.exceptions import error_item


@pytest.mark.parametrize(
    ("text", "index", "field"),
    [
        ("row 3: unknown measure 'x'", 3, "measure"),
        ("row 0: unknown value stream 'Q'", 0, "value_stream"),
        ("row 12: unknown product family 'Q-1'", 12, "product_family"),
        ("row 1: measure 'demand' needs a product family", 1, "product_family"),
        ("row 1: measure 'demand' needs a value stream", 1, "value_stream"),
        ("row 1: measure 'available_hours' takes no product family", 1, "product_family"),
        ("row 2: product family 'B-1' belongs to value stream 'B', not 'A'", 2, "product_family"),
        ("row 4: month 2030-01 is outside the horizon 2027-01..2028-06", 4, "month"),
        (
            "row 4: opening_inventory belongs to the cycle's first month 2027-01, not 2027-02",
            4,
            "month",
        ),
        ("row 5: demand must not be negative (got -1)", 5, "value"),
        ("row 5: value 1E+50 is too large", 5, "value"),
        ("row 5: value must be a finite number", 5, "value"),
        ("row 6: duplicate of row 2", 6, None),
        ("row 7: you are not a planner of value stream 'B'", 7, "value_stream"),
        ("cycle is frozen", None, None),
    ],
)
def test_service_messages_map_to_index_and_field(text, index, field):
    item = error_item(text)
    assert (item["index"], item["field"]) == (index, field)
    assert not item["message"].startswith("row ")
