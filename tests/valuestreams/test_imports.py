"""Master-data files: parsing, validation (every problem, by line and column), writing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sofp.errors import ValidationFailed
from tests.factories import PlanValueFactory
from valuestreams.imports import parse_master
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.services import master_import

MASTER_HEADER = (
    "value_stream,value_stream_name,product_family,family_name,unit_price,"
    "unit_material_cost,hours_per_unit,dos_min,dos_max\n"
)


def master(text: str, **kw):
    parsed = parse_master(data=text.encode())
    return master_import(rows=parsed.rows, parse_errors=parsed.errors, **kw)


def test_master_import_creates_then_updates(db):
    text = (
        MASTER_HEADER + "P,Pumps,P-1,Small pumps,100,40,0.5,10,30\nP,Pumps,P-2,Big,200,80,1.25,,\n"
    )
    result = master(text)
    assert (result.streams_added, result.families_added) == (1, 2)
    big = ProductFamily.objects.get(code="P-2")
    assert (big.dos_min, big.dos_max, big.hours_per_unit) == (10, 30, Decimal("1.25"))
    again = master(text)
    assert (again.streams_unchanged, again.families_unchanged, again.families_changed) == (1, 2, 0)
    changed = master(
        text.replace("Small pumps,100", "Small pumps,110").replace(",Pumps,", ",Pump line,")
    )
    assert (changed.streams_changed, changed.families_changed, changed.families_unchanged) == (
        1,
        1,
        1,
    )
    assert ProductFamily.objects.get(code="P-1").unit_price == Decimal("110")
    assert ValueStream.objects.get(code="P").name == "Pump line"


def test_master_blank_dos_keeps_the_current_band(db):
    master(MASTER_HEADER + "P,Pumps,P-1,Small,100,40,0.5,12,40\n")
    master(MASTER_HEADER + "P,Pumps,P-1,Small,100,40,0.5,,\n")
    fam = ProductFamily.objects.get(code="P-1")
    assert (fam.dos_min, fam.dos_max) == (12, 40)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("P,Pumps,P-1,Small,abc,40,0.5,10,30", "line 2, column unit_price: 'abc' is not a number"),
        ("P,Pumps,P-1,Small,-1,40,0.5,10,30", "line 2, column unit_price: must not be negative"),
        (
            "P,Pumps,P-1,Small,1,40,-0.5,10,30",
            "line 2, column hours_per_unit: must not be negative",
        ),
        ("P,Pumps,P-1,Small,1.123456,40,0.5,10,30", "line 2, column unit_price: 1.123456 has more"),
        ("P,Pumps,P-1,Small,1,40,0.5,40,30", "line 2, column dos_max: 30 is below dos_min 40"),
        ("P,Pumps,P 1,Small,1,40,0.5,10,30", "line 2, column product_family: 'P 1' is not a valid"),
        (
            "=cmd,Pumps,P-1,Small,1,40,0.5,10,30",
            "line 2, column value_stream: '=cmd' is not a valid",
        ),
        ("P,,P-1,Small,1,40,0.5,10,30", "line 2, column value_stream_name: is empty"),
        ("P,Pumps,P-1,Small,,40,0.5,10,30", "line 2, column unit_price: is empty"),
    ],
)
def test_bad_master_row_is_rejected_and_nothing_written(db, line, expected):
    with pytest.raises(ValidationFailed) as info:
        master(MASTER_HEADER + line + "\n")
    assert any(expected in e for e in info.value.errors), info.value.errors
    assert not ValueStream.objects.exists() and not ProductFamily.objects.exists()


def test_master_duplicate_family_and_two_names_for_a_stream(db):
    text = MASTER_HEADER + (
        "P,Pumps,P-1,Small,1,1,1,10,30\nP,Pumpz,P-2,Big,1,1,1,10,30\nP,Pumps,P-1,Again,1,1,1,10,30\n"
    )
    with pytest.raises(ValidationFailed) as info:
        master(text)
    assert info.value.errors == [
        "line 3, column value_stream_name: value stream 'P' is named 'Pumps' on line 2 "
        "but 'Pumpz' here",
        "line 4, column product_family: 'P-1' is a duplicate of line 2",
    ]
    assert not ProductFamily.objects.exists()


def test_master_refuses_to_move_a_family_that_has_plan_values(family_a, stream_b, cycle):
    PlanValueFactory(cycle=cycle, product_family=family_a)
    with pytest.raises(ValidationFailed) as info:
        master(MASTER_HEADER + "B,Stream B,A-1,Moved,1,1,1,10,30\n")
    assert "cannot move to 'B'" in info.value.errors[0]
    assert ProductFamily.objects.get(code="A-1").value_stream.code == "A"


def test_master_missing_column(db):
    with pytest.raises(ValidationFailed) as info:
        master("value_stream,product_family\nP,P-1\n")
    assert info.value.errors[0].startswith("line 1: the header has missing column(s) ")
