"""planning.dashboards: shaping engine frames into page rows and chart series."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from planning import dashboards, engine
from tests.planning.engine.test_box_score import two_stream_plan
from tests.planning.test_charts import actuals_frame


def test_demand_series_joins_history_forecast_and_last_approved_plan():
    plan = two_stream_plan()
    previous = two_stream_plan()
    previous.family["demand"] = previous.family["demand"] * 0.5
    s = dashboards.demand_series(plan, previous, actuals_frame())
    assert [str(m) for m in s["month"]] == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]
    assert list(s["actual"].iloc[:2]) == [30.0, 45.0]
    assert math.isnan(s["forecast"].iloc[0])
    # V1 + V2 January demand: 31 + 31 + 10.
    assert s["forecast"].iloc[2] == pytest.approx(72)
    assert s["previous"].iloc[2] == pytest.approx(36)


def test_demand_series_for_one_family_uses_only_its_rows():
    plan = two_stream_plan()
    s = dashboards.demand_series(plan, None, actuals_frame(), family="A")
    assert list(s["actual"].iloc[:2]) == [30.0, 25.0]
    assert list(s["forecast"].iloc[2:]) == [31.0, 28.0, 62.0]
    assert s["previous"].isna().all()


def test_supply_series_uses_the_box_score_days_of_supply_for_the_stream():
    plan = two_stream_plan()
    box = engine.box_score(plan)
    s = dashboards.supply_series(plan, box, "V1")
    v1 = box[box["value_stream"] == "V1"]
    assert list(s["days_of_supply"]) == pytest.approx(list(v1["days_of_supply"]))
    assert list(s["dos_min"]) == pytest.approx([10, 10, 10])
    assert s["short_units"].isna().all()


def test_box_table_has_value_previous_and_delta_per_column_and_company_only_rows():
    plan, previous = two_stream_plan(), two_stream_plan()
    previous.stream["revenue"] = previous.stream["revenue"] - 30
    box = engine.box_score(plan)
    prev_box = engine.box_score(previous)
    month = pd.Period("2027-01", "M")
    rows = dashboards.box_table(box, prev_box, month, [("V1", "V1"), ("", "Company")])
    revenue = rows[0]
    assert revenue["metric"].column == "revenue"
    assert revenue["cells"][0]["value"] == pytest.approx(930)
    assert revenue["cells"][0]["delta"] == pytest.approx(30)
    assert revenue["cells"][0]["tone"] == "good"
    cash = next(r for r in rows if r["metric"].column == "cash_flow")
    assert cash["cells"][0]["na"] is True and cash["cells"][1]["na"] is False
    wape = next(r for r in rows if r["metric"].column == "wape")
    assert wape["cells"][0]["delta"] is None  # measured, not planned: no comparison
    # Without the company column the company-only metrics are left out.
    streams_only = dashboards.box_table(box, None, month, [("V1", "V1")])
    assert "cash_flow" not in [r["metric"].column for r in streams_only]
    assert streams_only[0]["cells"][0]["delta"] is None


def test_change_summary_totals_the_horizon_per_stream_and_measure():
    plan, previous = two_stream_plan(), two_stream_plan()
    previous.stream["demand"] = previous.stream["demand"] * 2
    summary = dashboards.change_summary(engine.plan_changes(plan, previous))
    v1 = summary[(summary["value_stream"] == "V1") & (summary["measure"] == "demand")].iloc[0]
    assert v1["current"] == pytest.approx(31 + 28 + 62 + 31 + 56 + 31)
    assert v1["change_pct"] == pytest.approx(-0.5)
    rows = dashboards.change_rows(summary)
    assert [r["value_stream"] for r in rows] == ["V1", "V2"]
    assert rows[0]["cells"][0]["change_pct"] == pytest.approx(-0.5)


def test_exception_rows_link_to_the_grid_cell_behind_them():
    plan = two_stream_plan()
    plan.family.loc[0, "ending_inventory"] = -5.0
    ex = engine.exceptions(plan)
    rows = dashboards.exception_rows(ex, "2027-01")
    shortage = next(r for r in rows if r["kind"] == "shortage")
    assert shortage["url"] == ("/cycles/2027-01/grid/V1/?family=A&month=2027-01&measure=production")
    assert rows[0]["severity"] >= rows[-1]["severity"]


def test_grid_url_for_a_stream_measure_has_no_family():
    url = dashboards.grid_url("2027-01", "V1", "", "2027-03", "available_hours")
    assert url == "/cycles/2027-01/grid/V1/?month=2027-03&measure=available_hours"
