"""engine.box_score: the lean box score per value stream and month, and for the company."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from planning.engine import BOX_SCORE_COLUMNS, Accuracy, box_score, forecast_accuracy, project
from tests.planning.engine.test_engine import (
    close,
    family_series,
    master_frame,
    plans,
    run,
    stream_series,
    values_frame,
)


def two_stream_plan():
    """V1: families A, B; V2: family C; three months of 2027 (31, 28, 31 days)."""
    master = master_frame(
        ("V1", "A", 10.0, 4.0, 1.0, 10.0, 30.0),
        ("V1", "B", 20.0, 5.0, 2.0, 10.0, 30.0),
        ("V2", "C", 100.0, 40.0, 0.5, 5.0, 15.0),
    )
    rows = family_series("V1", "A", "2027-01", "demand", [31, 28, 62])
    rows += family_series("V1", "A", "2027-01", "production", [40, 30, 60])
    rows += family_series("V1", "B", "2027-01", "demand", [31, 56, 31])
    rows += family_series("V1", "B", "2027-01", "production", [31, 56, 31])
    rows += family_series("V2", "C", "2027-01", "demand", [10, 0, 0])
    rows += family_series("V2", "C", "2027-01", "production", [5, 0, 0])
    rows += [("V1", "A", "2027-01", "opening_inventory", 10.0)]
    rows += [("V1", "B", "2027-01", "opening_inventory", 20.0)]
    rows += [("V2", "C", "2027-01", "opening_inventory", 8.0)]
    rows += stream_series("V1", "2027-01", "available_hours", [200, 200, 200])
    rows += stream_series("V1", "2027-01", "non_productive_hours", [20, 20, 20])
    rows += stream_series("V1", "2027-01", "conversion_cost", [100, 100, 100])
    rows += stream_series("V2", "2027-01", "available_hours", [10, 10, 10])
    rows += stream_series("V2", "2027-01", "non_productive_hours", [1, 1, 1])
    rows += stream_series("V2", "2027-01", "conversion_cost", [50, 50, 50])
    rows += family_series("", "", "2027-01", "sustaining_cost", [70, 70, 70])
    return run(master, values_frame(*rows), "2027-01", 3)


def row(frame: pd.DataFrame, vs: str, month: str) -> pd.Series:
    hit = frame[(frame["value_stream"] == vs) & (frame["month"] == pd.Period(month, "M"))]
    assert len(hit) == 1
    return hit.iloc[0]


def test_box_score_has_the_contract_columns_and_one_row_per_key_and_month():
    box = box_score(two_stream_plan())
    assert tuple(box.columns) == BOX_SCORE_COLUMNS
    assert list(box["value_stream"].unique()) == ["V1", "V2", ""]
    assert len(box) == 3 * 3
    assert str(box["month"].dtype) == "period[M]"


def test_box_score_days_of_supply_sums_inventory_and_next_month_demand():
    box = box_score(two_stream_plan())
    # V1 January: I = (10+40-31) + (20+31-31) = 19 + 20 = 39; Feb demand 28+56 = 84 over 28 days.
    assert row(box, "V1", "2027-01")["ending_inventory"] == pytest.approx(39)
    assert row(box, "V1", "2027-01")["days_of_supply"] == pytest.approx(39 / (84 / 28))
    # Last month uses its own demand: I = 39 + 86 - 84 = 41, then 41 + 91 - 93 = 39.
    assert row(box, "V1", "2027-03")["days_of_supply"] == pytest.approx(39 / (93 / 31))
    # V2 February demand 0 → January's aggregate days of supply is undefined, never inf.
    assert math.isnan(row(box, "V2", "2027-01")["days_of_supply"])
    # Company January: I = 39 + 3 = 42; next-month demand 84 + 0.
    assert row(box, "", "2027-01")["ending_inventory"] == pytest.approx(42)
    assert row(box, "", "2027-01")["days_of_supply"] == pytest.approx(42 / (84 / 28))


def test_box_score_capacity_shares_add_up_to_one_and_company_uses_summed_hours():
    box = box_score(two_stream_plan())
    v1 = row(box, "V1", "2027-01")
    # Required: 40 × 1 + 31 × 2 = 102 of 200.
    assert v1["productive_share"] == pytest.approx(102 / 200)
    assert v1["non_productive_share"] == pytest.approx(20 / 200)
    assert v1["available_share"] == pytest.approx(78 / 200)
    co = row(box, "", "2027-01")
    assert co["productive_share"] == pytest.approx((102 + 2.5) / 210)
    assert co["non_productive_share"] == pytest.approx(21 / 210)
    shares = box[["productive_share", "non_productive_share", "available_share"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)


def test_box_score_financials_and_company_only_columns():
    proj = two_stream_plan()
    box = box_score(proj)
    v1 = row(box, "V1", "2027-01")
    # Revenue 31×10 + 31×20 = 930; material 40×4 + 31×5 = 315; profit 930 − 315 − 100.
    assert v1["revenue"] == pytest.approx(930)
    assert v1["material_cost"] == pytest.approx(315)
    assert v1["value_stream_profit"] == pytest.approx(515)
    assert v1["return_on_sales"] == pytest.approx(515 / 930)
    assert math.isnan(v1["sustaining_cost"]) and math.isnan(v1["cash_flow"])
    co = row(box, "", "2027-01")
    company = proj.company.iloc[0]
    assert co["company_profit"] == pytest.approx(company["company_profit"])
    assert co["cash_flow"] == pytest.approx(company["cash_flow"])
    assert co["sustaining_cost"] == pytest.approx(70)
    assert co["return_on_sales"] == pytest.approx(company["company_profit"] / company["revenue"])


def test_box_score_revenue_per_person_only_where_headcount_is_known():
    box = box_score(two_stream_plan(), headcount={"V1": 4, "V2": None})
    assert row(box, "V1", "2027-01")["revenue_per_person"] == pytest.approx(930 / 4)
    assert math.isnan(row(box, "V2", "2027-01")["revenue_per_person"])
    # The company needs every stream's headcount.
    assert math.isnan(row(box, "", "2027-01")["revenue_per_person"])
    full = box_score(two_stream_plan(), headcount={"V1": 4, "V2": 6})
    assert row(full, "", "2027-01")["revenue_per_person"] == pytest.approx(1930 / 10)


def test_box_score_shows_the_latest_measured_accuracy_on_every_month():
    keys = ["value_stream", "product_family", "month"]
    f = pd.DataFrame(
        [("V1", "A", "2026-11", 100.0), ("V1", "A", "2026-12", 110.0)],
        columns=[*keys, "forecast"],
    )
    a = pd.DataFrame(
        [("V1", "A", "2026-11", 80.0), ("V1", "A", "2026-12", 100.0)], columns=[*keys, "actual"]
    )
    acc = forecast_accuracy(f, a)
    box = box_score(two_stream_plan(), acc)
    v1 = box[box["value_stream"] == "V1"]
    assert (v1["accuracy_month"] == pd.Period("2026-12", "M")).all()
    np.testing.assert_allclose(v1["wape"], 0.1)
    np.testing.assert_allclose(v1["bias"], 0.1)
    v2 = row(box, "V2", "2027-02")
    assert math.isnan(v2["wape"]) and pd.isna(v2["accuracy_month"])
    assert row(box, "", "2027-01")["wape"] == pytest.approx(0.1)


def test_box_score_without_accuracy_or_families():
    master = master_frame()
    values = values_frame(*stream_series("V9", "2027-01", "available_hours", [5, 5, 5]))
    proj = run(master, values, "2027-01", 3)
    empty_acc = Accuracy(family=pd.DataFrame(), stream=pd.DataFrame(), company=pd.DataFrame())
    box = box_score(proj, empty_acc)
    assert list(box["value_stream"].unique()) == ["V9", ""]
    assert (box["ending_inventory"] == 0).all()
    assert box["days_of_supply"].isna().all()
    assert box["wape"].isna().all()


def test_box_score_does_not_change_the_projection():
    proj = two_stream_plan()
    before = proj.stream.copy(), proj.family.copy(), proj.company.copy()
    box_score(proj)
    pd.testing.assert_frame_equal(proj.stream, before[0])
    pd.testing.assert_frame_equal(proj.family, before[1])
    pd.testing.assert_frame_equal(proj.company, before[2])


@settings(max_examples=40, deadline=None)
@given(plans())
def test_property_box_score_company_sums_and_matches_projection(plan):
    proj = project(plan)
    box = box_score(proj)
    streams = box[box["value_stream"] != ""]
    company = box[box["value_stream"] == ""]
    by_month = streams.groupby("month", sort=True)
    scale = 1e6
    assert close(company["revenue"], by_month["revenue"].sum().to_numpy(), scale)
    assert close(company["ending_inventory"], by_month["ending_inventory"].sum().to_numpy(), scale)
    assert close(company["cash_flow"], proj.company["cash_flow"], scale)
    assert close(streams["revenue"], proj.stream["revenue"], scale)
    assert close(streams["productive_share"], proj.stream["productive_share"], 1.0)
    assert not np.isinf(box.select_dtypes("float").to_numpy()).any()
