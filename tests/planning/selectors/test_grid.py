"""Grid shaping and input parsing: columns, editable cells, engine numbers, flags."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.selectors.grid import grid_columns, grid_data
from planning.services.grid import parse_grid_number
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import CycleFactory, ProductFamilyFactory

JAN = dt.date(2027, 1, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.5", Decimal("1234.5")),
        ("1,234,567.25", Decimal("1234567.25")),
        (" 1 234 ", Decimal("1234")),
        ("\u00a07\u00a0", Decimal("7")),
        (12.5, Decimal("12.5")),
        (3, Decimal("3")),
        ("", None),
        (None, None),
        ("-4", Decimal("-4")),  # the sign is the service's business, with its own message
    ],
)
def test_parse_grid_number_accepts_what_planners_paste(raw, expected):
    assert parse_grid_number(raw) == expected


@pytest.mark.parametrize(
    "raw", ["abc", "1.2.3", "NaN", "inf", True, [1], "1234,5", "12,34", "1.234,5", ",5"]
)
def test_parse_grid_number_refuses_text(raw):
    with pytest.raises(ValueError):
        parse_grid_number(raw)


def test_columns_are_history_then_opening_then_horizon(cycle):
    cols = grid_columns(cycle=cycle)
    assert [c.kind for c in cols[:13]] == ["history"] * 12 + ["opening"]
    assert cols[0].field == "h2026-01"
    assert cols[13].field == "m2027-01"
    assert cols[-1].field == "m2028-06"
    assert [c.kind for c in grid_columns(cycle=cycle, company=True)] == ["horizon"] * 18


def test_grid_data_shapes_inputs_engine_rows_and_flags(stream_a):
    cycle = CycleFactory(month=JAN)
    ProductFamilyFactory(code="A-1", value_stream=stream_a, dos_min=Decimal("10"))
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", JAN, "opening_inventory", Decimal("10")),
            CellInput("A", "A-1", JAN, "demand", Decimal("30")),
            CellInput("A", "A-1", dt.date(2026, 12, 1), "actual_sales", Decimal("28")),
        ],
        user=None,
    )
    data = grid_data(cycle=cycle, value_stream=stream_a, today=dt.date(2027, 1, 15))
    rows = {r["id"]: r for r in data["rows"]}
    assert rows["A-1|demand"]["values"]["m2027-01"] == 30
    assert rows["A-1|demand"]["versions"]["m2027-01"] == 1
    assert rows["A-1|actual_sales"]["values"]["h2026-12"] == 28
    # Actual sales: the 12 months before the horizon and the months that have started.
    assert rows["A-1|actual_sales"]["editable"][-2:] == ["h2026-12", "m2027-01"]
    ei = rows["A-1|ending_inventory"]
    assert ei["values"]["opening"] == 10
    assert ei["editable"] == ["opening"]
    assert ei["values"]["m2027-01"] == -20
    assert ei["flags"]["m2027-01"] == {
        "level": "bad",
        "reason": "Ending inventory -20.0 units is below zero (shortage)",
    }
    assert rows["|utilization"]["values"]["m2027-01"] is None  # no hours: undefined, not 0
    assert [r["pos"] for r in data["rows"]][:5] == [0, 1, 2, 3, 4]
