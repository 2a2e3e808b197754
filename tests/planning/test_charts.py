"""planning.charts: every figure titled, axes labelled, hover with units; key traces."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from planning import charts, dashboards, engine
from tests.planning.engine.test_box_score import two_stream_plan


@pytest.fixture
def plan():
    return two_stream_plan()


@pytest.fixture
def previous():
    """The 'last approved plan': the same plan with other demand."""
    proj = two_stream_plan()
    proj.family["demand"] = proj.family["demand"] * 0.9
    return proj


def actuals_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value_stream": ["V1", "V1", "V1"],
            "product_family": ["A", "B", "A"],
            "month": pd.PeriodIndex(["2026-11", "2026-12", "2026-12"], freq="M"),
            "actual": [30.0, 20.0, 25.0],
        }
    )


def all_stream_figures(plan, previous):
    box = engine.box_score(plan)
    demand = dashboards.demand_series(plan, previous, actuals_frame())
    supply = dashboards.supply_series(plan, box, "V1")
    acc = pd.DataFrame(
        {"month": pd.PeriodIndex(["2026-12"], freq="M"), "wape": [0.1], "bias": [-0.05]}
    )
    cap = dashboards.capacity_series(plan, "V1")
    fin = dashboards.financial_series(plan, "V1")
    return {
        "demand": charts.demand_figure(demand),
        "accuracy": charts.accuracy_figure(acc),
        "production": charts.production_figure(supply),
        "inventory": charts.inventory_figure(supply),
        "capacity": charts.capacity_figure(cap),
        "split": charts.capacity_split_figure(cap),
        "financial": charts.financial_figure(fin),
    }


def all_review_figures(plan, previous):
    box = engine.box_score(plan)
    at = dashboards.stream_month_frame(box, pd.Period("2027-01", "M"))
    summary = dashboards.change_summary(engine.plan_changes(plan, previous))
    return {
        "streams": charts.stream_box_figure(at, month_label="January 2027"),
        "capacity": charts.stream_capacity_figure(at, month_label="January 2027"),
        "changes": charts.changes_figure(summary),
        "company": charts.company_figure(dashboards.company_series(plan)),
        "profit": charts.profit_by_stream_figure(dashboards.profit_by_stream(plan)),
    }


def test_every_figure_has_a_title_axis_labels_and_hover_with_units(plan, previous):
    figures = all_stream_figures(plan, previous) | all_review_figures(plan, previous)
    for name, fig in figures.items():
        assert fig.layout.title.text, name
        assert fig.layout.xaxis.title.text, name
        assert fig.layout.yaxis.title.text, name
        y2 = fig.to_plotly_json()["layout"].get("yaxis2")
        if y2:
            assert y2["title"]["text"], name
        for trace in fig.data:
            assert trace.hovertemplate and "<extra>" in trace.hovertemplate, (name, trace.name)
        json.loads(fig.to_json())  # serialisable for the page


def test_demand_figure_draws_the_last_approved_plan_dashed(plan, previous):
    demand = dashboards.demand_series(plan, previous, actuals_frame())
    fig = charts.demand_figure(demand)
    last = [t for t in fig.data if t.name == "Last approved plan"]
    assert len(last) == 1
    assert last[0].line.dash == "dash"
    assert "units" in last[0].hovertemplate
    actual = next(t for t in fig.data if t.name == "Actual sales")
    # History months (Nov, Dec 2026) come first, with the summed actuals.
    assert list(actual.x[:2]) == ["2026-11-01", "2026-12-01"]
    assert list(actual.y[:2]) == [30.0, 45.0]


def test_demand_figure_without_previous_plan_has_no_dashed_line(plan):
    demand = dashboards.demand_series(plan, None, actuals_frame().iloc[0:0])
    fig = charts.demand_figure(demand)
    assert [t.name for t in fig.data] == ["Actual sales", "Forecast (this plan)"]


def test_inventory_figure_marks_shortages_and_shades_the_target_band():
    master = pd.DataFrame(
        [("V1", "A", 10.0, 4.0, 1.0, 10.0, 30.0)],
        columns=list(engine.MASTER_COLUMNS),
    )
    from tests.planning.engine.test_engine import family_series, run, values_frame

    rows = family_series("V1", "A", "2027-01", "demand", [50, 50, 50])
    rows += family_series("V1", "A", "2027-01", "production", [0, 40, 80])
    rows += [("V1", "A", "2027-01", "opening_inventory", 20.0)]
    proj = run(master, values_frame(*rows), "2027-01", 3)
    box = engine.box_score(proj)
    supply = dashboards.supply_series(proj, box, "V1", family="A")
    fig = charts.inventory_figure(supply)
    shortage = next(t for t in fig.data if t.name == "Shortage")
    # Inventory: 20 − 50 = −30, −30 + 40 − 50 = −40, −40 + 80 − 50 = −10: all short.
    assert list(shortage.y) == [-30.0, -40.0, -10.0]
    assert shortage.marker.symbol == "x"
    assert "units short" in shortage.hovertemplate
    band = next(t for t in fig.data if t.name == "Target band")
    assert band.fill == "tonexty"
    assert list(band.y) == [30.0, 30.0, 30.0]
    assert fig.layout.yaxis2.title.text == "Days of supply (days)"


def test_inventory_figure_without_shortage_has_no_marker_trace(plan):
    box = engine.box_score(plan)
    supply = dashboards.supply_series(plan, box, "V1", family="B")
    fig = charts.inventory_figure(supply)
    assert "Shortage" not in [t.name for t in fig.data]


def test_capacity_split_is_stacked_shares(plan):
    fig = charts.capacity_split_figure(dashboards.capacity_series(plan, "V1"))
    assert fig.layout.barmode == "relative"
    assert [t.name for t in fig.data] == ["Productive", "Non-productive", "Available"]
    assert fig.layout.yaxis.tickformat == ".0%"
    assert fig.data[0].y[0] == pytest.approx(102 / 200)


def test_empty_frames_give_a_figure_that_says_so():
    empty = pd.DataFrame(columns=["month", "actual", "forecast", "previous", "wape", "bias"])
    fig = charts.demand_figure(empty)
    assert fig.layout.annotations and "No demand" in fig.layout.annotations[0].text
    fig = charts.changes_figure(dashboards.change_summary(pd.DataFrame()))
    assert "No previous approved plan" in fig.layout.annotations[0].text


def test_every_figure_passes_plotly_validation(plan, previous):
    """charts.py builds figures without Plotly's per-property validation (for speed):
    rebuilding each one with validation on must accept every property as it is."""
    figures = all_stream_figures(plan, previous) | all_review_figures(plan, previous)
    for name, fig in figures.items():
        as_dict = fig.to_plotly_json()
        validated = go.Figure(as_dict)  # raises ValueError on any invalid property
        assert validated.to_plotly_json()["layout"]["title"] == as_dict["layout"]["title"], name
        assert len(validated.data) == len(fig.data), name


def test_figure_json_is_what_plotly_writes(plan, previous):
    """Figures are plain dicts serialised with json.dumps: the same JSON as Plotly's own
    ``go.Figure(...).to_json()`` of the same figure, default template included."""
    figures = all_stream_figures(plan, previous) | all_review_figures(plan, previous)
    figures["fva"] = charts.fva_figure(
        pd.DataFrame(
            {
                "month": pd.PeriodIndex(["2026-12"], freq="M"),
                "naive_wape": [float("nan")],
                "baseline_wape": [0.2],
                "demand_wape": [0.1],
            }
        )
    )
    for name, fig in figures.items():
        ours = json.loads(fig.to_json())
        layout = {k: v for k, v in ours["layout"].items() if k != "template"}
        theirs = json.loads(go.Figure({"data": ours["data"], "layout": layout}).to_json())
        assert ours == theirs, name
        assert ours["data"] and all(t["type"] in ("bar", "scatter") for t in ours["data"]), name


def test_figure_json_writes_nan_as_null():
    fig = charts.PlotFigure([{"type": "bar", "x": ["a"], "y": [float("nan")]}], {})
    assert json.loads(fig.to_json())["data"][0]["y"] == [None]
