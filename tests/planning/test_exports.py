"""The export: file contract columns, number format, xlsx cells, visibility per user."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from planning.exports import export_csv, export_xlsx, format_number, safe_text
from planning.imports import parse_plan
from planning.selectors.plans import cycle_export_frame
from planning.services.plan_import import plan_import
from tests.factories import MembershipFactory, ProductFamilyFactory, UserFactory

HEADER = "value_stream,product_family,month,measure,value\n"


def load(cycle, text: str) -> None:
    parsed = parse_plan(data=text.encode())
    assert not parsed.errors
    plan_import(cycle=cycle, rows=parsed.rows, user=None)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.fixture
def planned(family_a, family_b, cycle):
    load(
        cycle,
        HEADER + "A,A-1,2027-01,opening_inventory,100\n"
        "A,A-1,2027-01,demand,310\n"
        "A,A-1,2027-01,production,300\n"
        "A,A-1,2027-02,demand,280\n"
        "A,,2027-01,available_hours,1000\n"
        "B,B-1,2027-01,demand,5\n"
        ",,2027-01,sustaining_cost,50\n",
    )
    return cycle


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.500000"),
        (-0.0, "0.000000"),
        (-1e-9, "0.000000"),
        (-2.25, "-2.250000"),
        (1234567.125, "1234567.125000"),
        (float("nan"), ""),
    ],
)
def test_numbers_are_plain_six_decimals_without_negative_zero(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx"])
def test_text_that_looks_like_a_formula_is_neutralised(text):
    assert safe_text(text) == "'" + text


def test_csv_export_has_the_contract_header_and_every_measure(planned):
    rows = csv_rows(export_csv(cycle_export_frame(cycle=planned)))
    assert list(rows[0]) == ["value_stream", "product_family", "month", "measure", "value"]
    measures = {r["measure"] for r in rows}
    assert measures >= {
        "opening_inventory",
        "demand",
        "production",
        "ending_inventory",
        "days_of_supply",
        "available_hours",
        "non_productive_hours",
        "conversion_cost",
        "required_hours",
        "utilization",
        "revenue",
        "material_cost",
        "value_stream_profit",
        "return_on_sales",
        "inventory_value",
        "sustaining_cost",
        "company_profit",
        "cash_flow",
    }
    jan = {
        (r["value_stream"], r["product_family"], r["measure"]): r["value"]
        for r in rows
        if r["month"] == "2027-01"
    }
    assert jan[("A", "A-1", "ending_inventory")] == "90.000000"  # 100 + 300 - 310
    # DOS = 90 / (280 / 28 days of February)
    assert jan[("A", "A-1", "days_of_supply")] == "9.000000"
    assert jan[("A", "", "required_hours")] == "150.000000"  # 300 x 0.5
    assert jan[("", "", "sustaining_cost")] == "50.000000"
    assert all("," not in r["value"] and "e" not in r["value"].lower() for r in rows)


def test_zero_demand_months_export_empty_days_of_supply(planned):
    rows = csv_rows(export_csv(cycle_export_frame(cycle=planned)))
    dos = {
        r["month"]: r["value"]
        for r in rows
        if r["product_family"] == "A-1" and r["measure"] == "days_of_supply"
    }
    assert dos["2027-01"] != ""  # February has demand
    assert dos["2027-02"] == ""  # March demand is 0: undefined, not an error
    assert dos["2028-06"] == ""
    util = [r["value"] for r in rows if r["value_stream"] == "B" and r["measure"] == "utilization"]
    assert set(util) == {""}  # no available hours: undefined


def test_xlsx_has_numeric_cells_and_empty_undefined_cells(planned):
    frame = cycle_export_frame(cycle=planned)
    book = openpyxl.load_workbook(io.BytesIO(export_xlsx(frame)))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("value_stream", "product_family", "month", "measure", "value")
    assert len(rows) == len(frame) + 1
    by_key = {r[:4]: r[4] for r in rows[1:]}
    assert by_key[("A", "A-1", "2027-01", "ending_inventory")] == 90
    assert isinstance(by_key[("A", "A-1", "2027-01", "demand")], float)
    assert by_key[("A", "A-1", "2027-02", "days_of_supply")] is None
    assert by_key[(None, None, "2027-01", "company_profit")] is not None
    assert sheet.freeze_panes == "A2"


def test_xlsx_round_trip_export_import_export_is_stable(planned):
    first = cycle_export_frame(cycle=planned)
    xlsx = export_xlsx(first)
    parsed = parse_plan(data=xlsx, filename="sofp-plan-2027-01.xlsx")
    assert parsed.errors == [] and parsed.computed_skipped > 0
    result = plan_import(cycle=planned, rows=parsed.rows, user=None)
    assert result.changed == 0 and result.cleared == 0  # stored values come back identical
    second = cycle_export_frame(cycle=planned)
    assert export_csv(second) == export_csv(first)


def test_xlsx_and_csv_carry_the_same_numbers(planned):
    frame = cycle_export_frame(cycle=planned)
    from_csv = [r["value"] for r in csv_rows(export_csv(frame))]
    book = openpyxl.load_workbook(io.BytesIO(export_xlsx(frame)), read_only=True)
    from_xlsx = [r[4] for r in book.active.iter_rows(min_row=2, values_only=True)]
    for text, number in zip(from_csv, from_xlsx, strict=True):
        if text == "":
            assert number is None
        else:
            assert math.isclose(float(text), number, abs_tol=1e-6)


def test_planner_export_holds_only_their_streams_and_no_company_rows(planned, planner_a):
    frame = cycle_export_frame(cycle=planned, user=planner_a)
    assert set(frame["value_stream"]) == {"A"}
    assert "sustaining_cost" not in set(frame["measure"])
    assert "company_profit" not in set(frame["measure"])


def test_executive_export_holds_everything(planned, executive):
    frame = cycle_export_frame(cycle=planned, user=executive)
    assert set(frame["value_stream"]) == {"A", "B", ""}


def test_viewer_member_sees_their_stream(planned, stream_b):
    viewer = UserFactory(username="viewer_b")
    MembershipFactory(user=viewer, value_stream=stream_b, role="viewer")
    frame = cycle_export_frame(cycle=planned, user=viewer)
    assert set(frame["value_stream"]) == {"B"}


def test_export_of_an_empty_cycle_still_has_the_header(cycle):
    data = export_csv(cycle_export_frame(cycle=cycle))
    assert data.decode().splitlines()[0] == HEADER.strip()


def test_codes_in_xlsx_are_text_even_when_numeric(cycle, stream_a):
    ProductFamilyFactory(code="1001", value_stream=stream_a)
    load(cycle, HEADER + "A,1001,2027-01,demand,1\n")
    frame = cycle_export_frame(cycle=cycle)
    rows = list(openpyxl.load_workbook(io.BytesIO(export_xlsx(frame))).active.values)
    assert ("A", "1001", "2027-01", "demand", 1) in rows
    parsed = parse_plan(data=export_xlsx(frame), filename="x.xlsx")
    assert not parsed.errors


def test_format_handles_a_frame_with_nan_and_negative_values():
    frame = pd.DataFrame(
        {
            "value_stream": ["A", "A"],
            "product_family": ["", ""],
            "month": ["2027-01", "2027-02"],
            "measure": ["cash_flow", "cash_flow"],
            "value": [np.nan, -12.3456789],
        }
    )
    assert export_csv(frame).decode().splitlines()[1:] == [
        "A,,2027-01,cash_flow,",
        "A,,2027-02,cash_flow,-12.345679",
    ]
