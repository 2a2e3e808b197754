"""Plotly figures of the dashboards: shaped DataFrames in, ``go.Figure`` out.

Pure: no ORM, no formulas (the frames come from :mod:`planning.dashboards`, which
takes them from the engine). Every figure has a title, labelled axes and a hover that
shows the exact number with its unit. The page serialises a figure with
``fig.to_json()`` (template tag ``plotly_figure``) and ``static/js/charts.js`` draws it
with the vendored plotly.js.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# One palette for every page (matches static/css/sofp.css).
INK = "#1c2733"
MUTED = "#8a99a8"
BRAND = "#1f4e79"
BRAND_2 = "#2e75b6"
OK = "#1e7d4f"
WARN = "#b7791f"
BAD = "#c0392b"
TEAL = "#2a9d8f"
SAND = "#e9c46a"
GRID = "#e8edf2"
STREAM_COLORS = (
    "#2e75b6",
    "#2a9d8f",
    "#e76f51",
    "#8e6bbf",
    "#e9c46a",
    "#264653",
    "#f4a261",
    "#6c8ead",
    "#9c6644",
    "#43aa8b",
)

MONEY = "%{y:,.0f}"
HEIGHT = 330


def _x(months: Iterable) -> list[str]:
    """Months as ISO dates (first day) so plotly draws a proper time axis."""
    return [pd.Period(m, "M").strftime("%Y-%m-01") for m in months]


def _y(values: pd.Series | np.ndarray) -> list[float | None]:
    """Plain floats with None for NaN: plotly leaves a gap, JSON stays small and exact."""
    arr = np.asarray(values, dtype=float)
    return [None if np.isnan(v) else float(v) for v in arr]


def _base_layout(title: str, x_title: str, y_title: str, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15, "color": INK}},
        "height": HEIGHT,
        "margin": {"l": 64, "r": 24, "t": 56, "b": 48},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {
            "family": "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
            "size": 12,
            "color": INK,
        },
        "hovermode": "x unified",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        "xaxis": {
            "title": {"text": x_title},
            "gridcolor": GRID,
            "linecolor": "#c8d1db",
            "tickformat": "%b %Y",
            "hoverformat": "%B %Y",
        },
        "yaxis": {
            "title": {"text": y_title},
            "gridcolor": GRID,
            "zerolinecolor": "#c8d1db",
            "rangemode": "tozero",
        },
    }
    layout.update(extra)
    return layout


def _figure(traces: list, layout: dict, *, empty: str | None = None) -> go.Figure:
    fig = go.Figure(data=traces, layout=layout)
    if empty:
        fig.add_annotation(
            text=empty,
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            font={"color": MUTED, "size": 13},
        )
    return fig


def _y2(title: str, fmt: str = "") -> dict:
    return {
        "title": {"text": title},
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "tickformat": fmt or ",.0f",
        "tickmode": "auto",
        "nticks": 6,
        "rangemode": "tozero",
    }


# --------------------------------------------------------------------------- value stream


def demand_figure(series: pd.DataFrame, *, title: str = "Demand") -> go.Figure:
    """Actual sales (history), this plan's forecast, and the last approved plan dashed."""
    x = _x(series["month"])
    traces = [
        go.Scatter(
            x=x,
            y=_y(series["actual"]),
            name="Actual sales",
            mode="lines+markers",
            line={"color": INK, "width": 2},
            marker={"size": 5},
            hovertemplate="%{y:,.0f} units<extra>Actual sales</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["forecast"]),
            name="Forecast (this plan)",
            mode="lines",
            line={"color": BRAND_2, "width": 2.5},
            hovertemplate="%{y:,.0f} units<extra>Forecast</extra>",
        ),
    ]
    if series["previous"].notna().any():
        traces.append(
            go.Scatter(
                x=x,
                y=_y(series["previous"]),
                name="Last approved plan",
                mode="lines",
                line={"color": MUTED, "width": 2, "dash": "dash"},
                hovertemplate="%{y:,.0f} units<extra>Last approved plan</extra>",
            )
        )
    has_data = series[["actual", "forecast"]].notna().any().any()
    return _figure(
        traces,
        _base_layout(title, "Month", "Units per month"),
        empty=None if has_data else "No demand or sales yet",
    )


def accuracy_figure(series: pd.DataFrame, *, title: str = "Forecast accuracy") -> go.Figure:
    """WAPE (bars, lower is better) and bias (line, + = over-forecast), lag 1, in %."""
    x = _x(series["month"])
    traces = [
        go.Bar(
            x=x,
            y=_y(series["wape"]),
            name="WAPE",
            marker={"color": BRAND_2},
            hovertemplate="%{y:.1%}<extra>WAPE</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["bias"]),
            name="Bias",
            mode="lines+markers",
            line={"color": WARN, "width": 2},
            hovertemplate="%{y:+.1%}<extra>Bias (forecast − actual)</extra>",
        ),
    ]
    layout = _base_layout(title, "Month", "Error (% of actual sales)")
    layout["yaxis"].update(tickformat=".0%", rangemode="normal")
    return _figure(
        traces, layout, empty=None if len(series) else "No accuracy yet: needs actual sales"
    )


def production_figure(series: pd.DataFrame, *, title: str = "Production vs demand") -> go.Figure:
    x = _x(series["month"])
    traces = [
        go.Bar(
            x=x,
            y=_y(series["production"]),
            name="Production",
            marker={"color": TEAL},
            hovertemplate="%{y:,.0f} units<extra>Production</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["demand"]),
            name="Demand",
            mode="lines+markers",
            line={"color": BRAND, "width": 2.5},
            marker={"size": 5},
            hovertemplate="%{y:,.0f} units<extra>Demand</extra>",
        ),
    ]
    return _figure(
        traces,
        _base_layout(title, "Month", "Units per month"),
        empty=None if len(series) else "No plan yet",
    )


def inventory_figure(
    series: pd.DataFrame, *, title: str = "Ending inventory and days of supply"
) -> go.Figure:
    """Inventory bars, days of supply against the shaded target band, shortages marked."""
    x = _x(series["month"])
    traces = [
        go.Bar(
            x=x,
            y=_y(series["ending_inventory"]),
            name="Ending inventory",
            marker={
                "color": [BAD if v < 0 else "#9ec5e8" for v in series["ending_inventory"].fillna(0)]
            },
            hovertemplate="%{y:,.0f} units<extra>Ending inventory</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["dos_min"]),
            name="Target band (min)",
            mode="lines",
            line={"width": 0},
            yaxis="y2",
            showlegend=False,
            hovertemplate="%{y:,.1f} days<extra>Target min</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["dos_max"]),
            name="Target band",
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(30,125,79,0.13)",
            yaxis="y2",
            hovertemplate="%{y:,.1f} days<extra>Target max</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["days_of_supply"]),
            name="Days of supply",
            mode="lines+markers",
            line={"color": OK, "width": 2.5},
            marker={"size": 5},
            yaxis="y2",
            hovertemplate="%{y:,.1f} days<extra>Days of supply</extra>",
        ),
    ]
    short = series[series["short_units"].notna()]
    if len(short):
        traces.append(
            go.Scatter(
                x=_x(short["month"]),
                y=_y(short["short_units"]),
                customdata=list(short["short_families"]),
                name="Shortage",
                mode="markers",
                marker={"symbol": "x", "size": 12, "color": BAD, "line": {"width": 2}},
                hovertemplate="%{y:,.0f} units short (%{customdata})<extra>Shortage</extra>",
            )
        )
    layout = _base_layout(title, "Month", "Ending inventory (units)")
    layout["yaxis"]["rangemode"] = "normal"
    layout["yaxis2"] = _y2("Days of supply (days)")
    layout["margin"]["r"] = 64
    return _figure(traces, layout, empty=None if len(series) else "No plan yet")


def capacity_figure(series: pd.DataFrame, *, title: str = "Capacity: hours") -> go.Figure:
    x = _x(series["month"])
    traces = [
        go.Bar(
            x=x,
            y=_y(series["required_hours"]),
            name="Required",
            marker={
                "color": [
                    BAD if u > 1 else BRAND_2 for u in series["utilization"].fillna(0).to_numpy()
                ]
            },
            customdata=_y(series["utilization"]),
            hovertemplate="%{y:,.0f} h (utilization %{customdata:.0%})<extra>Required</extra>",
        ),
        go.Bar(
            x=x,
            y=_y(series["non_productive_hours"]),
            name="Non-productive",
            marker={"color": SAND},
            hovertemplate="%{y:,.0f} h<extra>Non-productive</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["available_hours"]),
            name="Available",
            mode="lines",
            line={"color": INK, "width": 2, "shape": "hvh"},
            hovertemplate="%{y:,.0f} h<extra>Available</extra>",
        ),
    ]
    layout = _base_layout(title, "Month", "Hours per month", barmode="stack")
    return _figure(traces, layout, empty=None if len(series) else "No capacity plan yet")


def capacity_split_figure(
    series: pd.DataFrame, *, title: str = "Box score: use of available hours"
) -> go.Figure:
    """Productive / non-productive / available shares per month, stacked to 100%."""
    x = _x(series["month"])
    parts = (
        ("productive_share", "Productive", BRAND_2),
        ("non_productive_share", "Non-productive", SAND),
        ("available_share", "Available", "#b8d8c8"),
    )
    traces = [
        go.Bar(
            x=x,
            y=_y(series[col]),
            name=name,
            marker={"color": color},
            hovertemplate=f"%{{y:.1%}}<extra>{name}</extra>",
        )
        for col, name, color in parts
    ]
    layout = _base_layout(title, "Month", "Share of available hours", barmode="relative")
    layout["yaxis"].update(tickformat=".0%", rangemode="normal")
    return _figure(traces, layout, empty=None if len(series) else "No capacity plan yet")


def financial_figure(series: pd.DataFrame, *, title: str = "Financial projection") -> go.Figure:
    x = _x(series["month"])
    traces = [
        go.Bar(
            x=x,
            y=_y(series["revenue"]),
            name="Revenue",
            marker={"color": BRAND_2},
            hovertemplate=MONEY + "<extra>Revenue</extra>",
        ),
        go.Bar(
            x=x,
            y=_y(series["material_cost"]),
            name="Material",
            marker={"color": "#f4a261"},
            hovertemplate=MONEY + "<extra>Material cost</extra>",
        ),
        go.Bar(
            x=x,
            y=_y(series["conversion_cost"]),
            name="Conversion",
            marker={"color": SAND},
            hovertemplate=MONEY + "<extra>Conversion cost</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["value_stream_profit"]),
            name="Value stream profit",
            mode="lines+markers",
            line={"color": OK, "width": 2.5},
            hovertemplate=MONEY + "<extra>Value stream profit</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["return_on_sales"]),
            name="Return on sales",
            mode="lines",
            line={"color": INK, "width": 1.5, "dash": "dot"},
            yaxis="y2",
            hovertemplate="%{y:.1%}<extra>Return on sales</extra>",
        ),
    ]
    layout = _base_layout(title, "Month", "Amount per month", barmode="group")
    layout["yaxis"]["rangemode"] = "normal"
    layout["yaxis2"] = _y2("Return on sales", ".0%")
    layout["margin"]["r"] = 64
    return _figure(traces, layout, empty=None if len(series) else "No plan yet")


# --------------------------------------------------------------------------- review


def _category_layout(title: str, x_title: str, y_title: str, **extra) -> dict:
    layout = _base_layout(title, x_title, y_title, **extra)
    layout["xaxis"].pop("tickformat")
    layout["xaxis"].pop("hoverformat")
    layout["xaxis"]["type"] = "category"
    layout["hovermode"] = "x unified"
    return layout


def stream_box_figure(rows: pd.DataFrame, *, month_label: str) -> go.Figure:
    """Revenue and value stream profit per stream in one month, return on sales on y2."""
    x = list(rows["value_stream"])
    traces = [
        go.Bar(
            x=x,
            y=_y(rows["revenue"]),
            name="Revenue",
            marker={"color": BRAND_2},
            hovertemplate=MONEY + "<extra>Revenue</extra>",
        ),
        go.Bar(
            x=x,
            y=_y(rows["value_stream_profit"]),
            name="Value stream profit",
            marker={"color": OK},
            hovertemplate=MONEY + "<extra>Value stream profit</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(rows["return_on_sales"]),
            name="Return on sales",
            mode="markers",
            marker={"color": INK, "size": 11, "symbol": "diamond"},
            yaxis="y2",
            hovertemplate="%{y:.1%}<extra>Return on sales</extra>",
        ),
    ]
    layout = _category_layout(
        f"Revenue and profit by value stream, {month_label}",
        "Value stream",
        "Amount",
        barmode="group",
    )
    layout["yaxis"]["rangemode"] = "normal"
    layout["yaxis2"] = _y2("Return on sales", ".0%")
    layout["margin"]["r"] = 64
    return _figure(traces, layout, empty=None if len(rows) else "No value streams")


def stream_capacity_figure(rows: pd.DataFrame, *, month_label: str) -> go.Figure:
    """Capacity box score per stream: productive / non-productive / available (stacked)."""
    y = list(rows["value_stream"])
    parts = (
        ("productive_share", "Productive", BRAND_2),
        ("non_productive_share", "Non-productive", SAND),
        ("available_share", "Available", "#b8d8c8"),
    )
    traces = [
        go.Bar(
            y=y,
            x=_y(rows[col]),
            name=name,
            orientation="h",
            marker={"color": color},
            hovertemplate=f"%{{x:.1%}}<extra>{name}</extra>",
        )
        for col, name, color in parts
    ]
    layout = _base_layout(
        f"Capacity by value stream, {month_label}",
        "Share of available hours",
        "Value stream",
        barmode="relative",
    )
    layout["xaxis"] = {
        "title": {"text": "Share of available hours"},
        "tickformat": ".0%",
        "gridcolor": GRID,
        "zerolinecolor": "#c8d1db",
    }
    layout["yaxis"] = {
        "title": {"text": "Value stream"},
        "type": "category",
        "autorange": "reversed",
    }
    layout["hovermode"] = "y unified"
    layout["height"] = max(HEIGHT, 90 + 34 * len(rows))
    return _figure(traces, layout, empty=None if len(rows) else "No value streams")


def changes_figure(summary: pd.DataFrame) -> go.Figure:
    """Change of the horizon totals against the last approved plan, per stream, in %."""
    traces = []
    colors = {"demand": BRAND_2, "production": TEAL, "value_stream_profit": OK}
    names = {"demand": "Demand", "production": "Production", "value_stream_profit": "Profit"}
    for measure, name in names.items():
        part = summary[summary["measure"] == measure]
        unit = "" if measure == "value_stream_profit" else " units"
        traces.append(
            go.Bar(
                x=list(part["value_stream"]),
                y=_y(part["change_pct"]),
                customdata=np.column_stack([_y(part["current"]), _y(part["previous"])]).tolist()
                if len(part)
                else [],
                name=name,
                marker={"color": colors[measure]},
                hovertemplate=(
                    "%{y:+.1%} (now %{customdata[0]:,.0f}"
                    + unit
                    + ", was %{customdata[1]:,.0f}"
                    + unit
                    + f")<extra>{name}</extra>"
                ),
            )
        )
    layout = _category_layout(
        "Change against the last approved plan (horizon totals)",
        "Value stream",
        "Change",
        barmode="group",
    )
    layout["yaxis"].update(tickformat="+.0%", rangemode="normal")
    return _figure(
        traces,
        layout,
        empty=None if len(summary) else "No previous approved plan to compare with",
    )


def company_figure(series: pd.DataFrame, *, title: str = "Company roll-up") -> go.Figure:
    x = _x(series["month"])
    traces = [
        go.Bar(
            x=x,
            y=_y(series["value_stream_profit"]),
            name="Σ value stream profit",
            marker={"color": "#b8d8c8"},
            hovertemplate=MONEY + "<extra>Σ value stream profit</extra>",
        ),
        go.Bar(
            x=x,
            y=_y(-series["sustaining_cost"]),
            name="Sustaining cost",
            marker={"color": "#f1b8ae"},
            hovertemplate=MONEY + "<extra>Sustaining cost</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["company_profit"]),
            name="Company profit",
            mode="lines+markers",
            line={"color": OK, "width": 2.5},
            hovertemplate=MONEY + "<extra>Company profit</extra>",
        ),
        go.Scatter(
            x=x,
            y=_y(series["cash_flow"]),
            name="Cash flow",
            mode="lines+markers",
            line={"color": BRAND, "width": 2, "dash": "dot"},
            hovertemplate=MONEY + "<extra>Cash flow</extra>",
        ),
    ]
    layout = _base_layout(title, "Month", "Amount per month", barmode="relative")
    layout["yaxis"]["rangemode"] = "normal"
    return _figure(traces, layout, empty=None if len(series) else "No plan yet")


def profit_by_stream_figure(
    wide: pd.DataFrame, *, title: str = "Value stream profit over the horizon"
) -> go.Figure:
    traces = []
    x = _x(wide.index) if len(wide) else []
    for i, code in enumerate(wide.columns):
        traces.append(
            go.Bar(
                x=x,
                y=_y(wide[code]),
                name=str(code),
                marker={"color": STREAM_COLORS[i % len(STREAM_COLORS)]},
                hovertemplate=MONEY + f"<extra>{code}</extra>",
            )
        )
    layout = _base_layout(title, "Month", "Value stream profit per month", barmode="relative")
    layout["yaxis"]["rangemode"] = "normal"
    return _figure(traces, layout, empty=None if len(wide) else "No plan yet")
