"""The box score of a closed month against hand-computed numbers (SOFP.md "Actuals"),
including the empty and zero cases: no orders, no headcount, no hours, no plan."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from planning.box_score import EXPORT_MEASURES, box_score_long, closed_box_score

OCT = pd.Period("2026-10", freq="M")
NOV = pd.Period("2026-11", freq="M")


def long(rows):
    return pd.DataFrame(
        [(vs, fam, m, meas, float(v)) for vs, fam, m, meas, v in rows],
        columns=["value_stream", "product_family", "month", "measure", "value"],
    )


MASTER = pd.DataFrame(
    {
        "product_family": ["A-1", "A-2", "B-1"],
        "unit_price": [10.0, 20.0, 5.0],
        "unit_material_cost": [4.0, 5.0, 2.0],
        "hours_per_unit": [0.5, 1.0, 2.0],
    }
)
ACTUALS = long(
    [
        ("A", "A-1", OCT, "actual_sales", 100),
        ("A", "A-1", OCT, "actual_production", 110),
        ("A", "A-2", OCT, "actual_sales", 50),
        ("A", "A-2", OCT, "actual_production", 40),
        ("B", "B-1", OCT, "actual_sales", 30),
        ("A", "", OCT, "orders_shipped", 20),
        ("A", "", OCT, "orders_on_time", 18),
        ("A", "", OCT, "units_first_time_through", 135),
        ("A", "", OCT, "headcount", 10),
        ("A", "", OCT, "dock_to_dock_days", 4.5),
        ("A", "", OCT, "actual_available_hours", 1000),
        ("A", "", OCT, "actual_productive_hours", 600),
        ("A", "", OCT, "actual_non_productive_hours", 100),
        ("A", "", OCT, "actual_conversion_cost", 2000),
        ("B", "", OCT, "orders_shipped", 0),
        ("B", "", OCT, "orders_on_time", 0),
        ("B", "", OCT, "headcount", 0),
        ("B", "", OCT, "actual_available_hours", 0),
    ]
)
PLAN = long(
    [
        ("A", "A-1", OCT, "demand", 90),
        ("A", "A-1", OCT, "production", 100),
        ("A", "A-2", OCT, "demand", 60),
        ("A", "A-2", OCT, "production", 50),
        ("A", "", OCT, "conversion_cost", 1800),
    ]
)
PLANNED = pd.DataFrame({"value_stream": ["A", "B"], "month": [OCT, OCT]})


@pytest.fixture
def score():
    out = closed_box_score(actuals=ACTUALS, master=MASTER, plan=PLAN, planned_months=PLANNED)
    return {r["value_stream"]: r for r in out.to_dict("records")}


def nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def test_stream_a_by_hand(score):
    a = score["A"]
    expected = {
        "actual_revenue": 2000,  # 100×10 + 50×20
        "actual_material_cost": 640,  # 110×4 + 40×5
        "actual_profit": -640,  # 2000 − 640 − 2000
        "revenue_per_person": 200,
        "average_cost_per_unit": 17.6,  # (640 + 2000) ÷ 150
        "on_time_delivery": 0.9,
        "first_time_through": 0.9,  # 135 ÷ 150
        "dock_to_dock_days": 4.5,
        "productive_share": 0.6,
        "non_productive_share": 0.1,
        "available_share": 0.3,
        "plan_revenue": 2100,  # 90×10 + 60×20
        "plan_material_cost": 650,
        "plan_conversion_cost": 1800,
        "plan_profit": -350,
        "plan_hours": 100,  # 100×0.5 + 50×1
        "plan_production": 150,
        "capacity_wape": 500 / 600,
        "capacity_bias": -500 / 600,
        "production_wape": 20 / 150,
        "demand_wape": 20 / 150,
        "demand_bias": 0,
    }
    for k, v in expected.items():
        assert a[k] == pytest.approx(v), k


def test_zero_and_missing_give_empty_never_an_error(score):
    b = score["B"]
    for k in (
        "on_time_delivery",  # no orders shipped
        "revenue_per_person",  # no headcount
        "productive_share",  # no available hours
        "available_share",
        "actual_material_cost",  # no production entered
        "actual_profit",
        "first_time_through",
        "production_wape",
        "capacity_wape",
        "dock_to_dock_days",
        "fva_statistics",
        "on_time_launch",
    ):
        assert nan(b[k]), k
    # planned stream without values: the plan counts 0 there
    assert (b["plan_revenue"], b["plan_profit"]) == (0, 0)
    assert (b["demand_wape"], b["demand_bias"]) == (1.0, -1.0)  # F 0, A 30


def test_company_rows_are_ratios_of_sums(score):
    c = score[""]
    assert c["actual_revenue"] == 2150
    assert c["on_time_delivery"] == pytest.approx(0.9)
    assert c["revenue_per_person"] == pytest.approx(215)
    assert c["average_cost_per_unit"] == pytest.approx(2640 / 180)
    assert c["demand_wape"] == pytest.approx(50 / 180)
    assert c["demand_bias"] == pytest.approx(-30 / 180)
    assert c["capacity_wape"] == pytest.approx(500 / 600)
    assert nan(c["dock_to_dock_days"])
    # value stream profit, summed (B's is unknown)
    assert (c["actual_profit"], c["plan_profit"]) == (-640, -350)


def test_company_capacity_is_over_streams_not_of_sums():
    acts = long(
        [
            ("A", "", OCT, "actual_productive_hours", 100),
            ("B", "", OCT, "actual_productive_hours", 100),
        ]
    )
    master = pd.DataFrame(
        {
            "product_family": ["A-1", "B-1"],
            "unit_price": [1.0, 1.0],
            "unit_material_cost": [0.0, 0.0],
            "hours_per_unit": [1.0, 1.0],
        }
    )
    plan = long([("A", "A-1", OCT, "production", 150), ("B", "B-1", OCT, "production", 50)])
    out = closed_box_score(actuals=acts, master=master, plan=plan)
    company = out[out["value_stream"] == ""].iloc[0]
    assert company["capacity_wape"] == pytest.approx(100 / 200)  # not 0
    assert company["capacity_bias"] == pytest.approx(0)


def test_without_plan_the_plan_side_is_empty_and_months_are_apart():
    acts = pd.concat([ACTUALS, long([("A", "A-1", NOV, "actual_sales", 7)])], ignore_index=True)
    out = closed_box_score(actuals=acts, master=MASTER)
    assert set(out["month"]) == {OCT, NOV}
    a_nov = out[(out["value_stream"] == "A") & (out["month"] == NOV)].iloc[0]
    assert a_nov["actual_revenue"] == 70 and nan(a_nov["plan_revenue"])
    assert nan(a_nov["demand_wape"])


def test_no_actuals_at_all_is_an_empty_frame():
    empty = long([])
    out = closed_box_score(actuals=empty, master=MASTER)
    assert out.empty
    assert list(box_score_long(out).columns) == ["value_stream", "month", "measure", "value"]


def test_long_rows_follow_the_export_measures(score):
    out = closed_box_score(actuals=ACTUALS, master=MASTER, plan=PLAN, planned_months=PLANNED)
    rows = box_score_long(out)
    assert list(rows["measure"][: len(EXPORT_MEASURES)]) == list(EXPORT_MEASURES)
    assert list(rows["value_stream"].unique()) == ["A", "B", ""]


def test_sofp_results_by_hand():
    from planning.box_score import sofp_results

    frame = pd.DataFrame(
        {
            "month": [pd.Period("2026-09", freq="M"), OCT],
            "on_time_delivery": [0.90, 0.92],
            "actual_material_cost": [3000.0, 3100.0],
            "inventory_value": [2000.0, 1800.0],
            "cash_flow": [100.0, 110.0],
            "on_time_launch": [float("nan"), float("nan")],
        }
    )
    table, changes = sofp_results(frame)
    # September: 2000 ÷ (3000 ÷ 30) = 20 days; October: 1800 ÷ (3100 ÷ 31) = 18 days
    assert list(table["inventory_days"]) == pytest.approx([20.0, 18.0])
    by = {c["measure"]: c for c in changes}
    assert by["inventory_days"]["change"] == pytest.approx(-0.10)
    assert by["on_time_delivery"]["change"] == pytest.approx(0.02)  # points
    assert by["cash_flow"]["change"] == pytest.approx(0.10)
    assert by["on_time_launch"]["change"] is None and by["on_time_launch"]["start"] is None


def test_sofp_results_zero_material_cost_is_empty():
    from planning.box_score import sofp_results

    frame = pd.DataFrame(
        {
            "month": [OCT],
            "on_time_delivery": [float("nan")],
            "actual_material_cost": [0.0],
            "inventory_value": [10.0],
            "cash_flow": [0.0],
            "on_time_launch": [float("nan")],
        }
    )
    table, changes = sofp_results(frame)
    assert nan(table["inventory_days"].iloc[0])
    assert {c["measure"]: c["change"] for c in changes}["cash_flow"] is None  # from 0


def dev(rows):
    return pd.DataFrame(rows, columns=["value_stream", "month", "hours"])


def test_plan_hours_add_the_frozen_plans_development_hours():
    """SOFP.md "NPD launches": the NPD stream's required hours add the development
    hours, so its capacity forecast F does too; streams without a launch are unchanged."""
    acts = pd.concat(
        [
            ACTUALS,
            long(
                [
                    ("N", "", OCT, "actual_available_hours", 800),
                    ("N", "", OCT, "actual_productive_hours", 500),
                ]
            ),
        ],
        ignore_index=True,
    )
    planned = pd.DataFrame({"value_stream": ["A", "B", "N"], "month": [OCT, OCT, OCT]})
    hours = dev(
        [
            ("N", OCT, 300.0),
            ("N", OCT, 100.0),  # two launches of one NPD stream add up
            ("B", OCT, 25.0),
            ("N", NOV, 999.0),  # a month the box score does not show
        ]
    )
    out = closed_box_score(
        actuals=acts, master=MASTER, plan=PLAN, planned_months=planned, development_hours=hours
    )
    rows = {r["value_stream"]: r for r in out.to_dict("records")}
    # A: no launch — production × hours per unit only: 100 × 0.5 + 50 × 1.0 = 100
    assert rows["A"]["plan_hours"] == pytest.approx(100)
    assert rows["A"]["capacity_wape"] == pytest.approx(500 / 600)
    # N: no families, development hours only: 400 against 500 actual
    assert rows["N"]["plan_hours"] == pytest.approx(400)
    assert rows["N"]["capacity_wape"] == pytest.approx(100 / 500)
    assert rows["N"]["capacity_bias"] == pytest.approx(-100 / 500)
    # B: planned production 0 (missing input) + 25 development hours; no actual hours
    assert rows["B"]["plan_hours"] == pytest.approx(25)
    assert nan(rows["B"]["capacity_wape"])
    # company: over streams with both sides (A and N): Σ|A−F| ÷ ΣA
    company = rows[""]
    assert company["plan_hours"] == pytest.approx(100 + 25 + 400)
    assert company["capacity_wape"] == pytest.approx((500 + 100) / 1100)
    assert company["capacity_bias"] == pytest.approx((-500 - 100) / 1100)
    assert NOV not in set(out["month"])


def test_empty_development_hours_change_nothing():
    base = closed_box_score(actuals=ACTUALS, master=MASTER, plan=PLAN, planned_months=PLANNED)
    for hours in (dev([]), None):
        out = closed_box_score(
            actuals=ACTUALS,
            master=MASTER,
            plan=PLAN,
            planned_months=PLANNED,
            development_hours=hours,
        )
        pd.testing.assert_frame_equal(out, base)
    empty = closed_box_score(actuals=long([]), master=MASTER, development_hours=dev([]))
    assert empty.empty
