"""Plotly figures of the dashboards: shaped DataFrames in, :class:`PlotFigure` out.

Pure: no ORM, no formulas (the frames come from :mod:`planning.dashboards`, which
takes them from the engine). Every figure has a title, labelled axes and a hover that
shows the exact number with its unit. The page serialises a figure with
``fig.to_json()`` (template tag ``plotly_figure``) and ``static/js/charts.js`` draws it
with the vendored plotly.js.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache, lru_cache

import numpy as np
import pandas as pd

from planning.engine import number_or_none


class Props(dict):
    """A figure's properties as plain dicts, read as Plotly's objects read them
    (``fig.layout.title.text``; an unset property is None)."""

    __slots__ = ()

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = self.get(name)
        if type(value) is dict:
            value = self[name] = Props(value)
        elif type(value) is list and value and type(value[0]) is dict:
            value = self[name] = [Props(v) if type(v) is dict else v for v in value]
        return value


def _Bar(**props) -> Props:
    return Props(props, type="bar")


def _Scatter(**props) -> Props:
    return Props(props, type="scatter")


@cache
def _template_json() -> str:
    """Plotly's default template as JSON, computed once: ``go.Figure`` put it in every
    figure's layout (the page keeps drawing with it)."""
    import plotly.graph_objects as go

    return json.dumps(go.Figure().layout.template.to_plotly_json(), default=_plain)


def _plain(value: object) -> object:
    """NumPy scalars and arrays as JSON numbers and lists (NaN as null, as Plotly)."""
    if isinstance(value, np.ndarray):
        return [number_or_none(v) if isinstance(v, float) else v for v in value.tolist()]
    if isinstance(value, np.generic):
        item = value.item()
        return number_or_none(item) if isinstance(item, float) else item
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: object) -> str:
    try:
        return json.dumps(value, default=_plain, allow_nan=False)
    except ValueError:  # a NaN or infinity somewhere: null, as Plotly's encoder writes it
        return json.dumps(_finite(value), default=_plain, allow_nan=False)


def _finite(value: object) -> object:
    if isinstance(value, float):
        return number_or_none(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return _finite(_plain(value))
    return value


class PlotFigure:
    """A Plotly figure as plain dicts: built without ``go.Figure`` (its validation and
    the deep copies of ``to_json`` were most of the time of drawing a page), serialised
    with ``json.dumps``. tests/planning/test_charts.py validates every figure with
    Plotly and compares the JSON with ``go.Figure``'s."""

    __slots__ = ("data", "layout")

    def __init__(self, data: list[dict], layout: dict) -> None:
        self.data = [t if type(t) is Props else Props(t) for t in data]
        self.layout = Props(layout)

    def add_annotation(self, **props) -> None:
        self.layout.setdefault("annotations", []).append(dict(props))

    def update_traces(self, *, selector: dict | None = None, **props) -> None:
        """Set ``props`` on each trace whose top-level properties match ``selector``."""
        for trace in self.data:
            if all(trace.get(k) == v for k, v in (selector or {}).items()):
                trace.update(props)

    def update_xaxes(self, **props) -> None:
        self.layout.setdefault("xaxis", {}).update(props)

    def to_plotly_json(self) -> dict:
        """The figure as plain data (what ``to_json`` writes)."""
        return json.loads(self.to_json())

    def to_json(self) -> str:
        """The figure as ``go.Figure.to_json`` gives it (the default template last)."""
        data, layout = _dumps(self.data), _dumps(self.layout)
        template = _template_json()
        layout = layout[:-1] + (", " if len(layout) > 2 else "") + f'"template": {template}}}'
        return f'{{"data": {data}, "layout": {layout}}}'


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
    return [_month_date(m) for m in months]


@lru_cache(maxsize=4096)
def _month_text(m: object) -> str:
    return pd.Period(m, "M").strftime("%Y-%m-01")


def _month_date(m: object) -> str:
    """One month's ISO date, each distinct month formatted once per process (a Period's
    strftime costs ~15 µs, and every chart of every page writes the same few dozen)."""
    try:
        return _month_text(m)
    except TypeError:  # pragma: no cover - a month that cannot be a key: formatted here
        return pd.Period(m, "M").strftime("%Y-%m-01")


def _y(values: pd.Series | np.ndarray) -> list[float | None]:
    """Plain floats with None for NaN: plotly leaves a gap, JSON stays small and exact.

    ``number_or_none`` of each value, on the whole array at once: the same floats,
    None where it is not finite."""
    arr = np.asarray(values, dtype=float)
    out: list[float | None] = arr.tolist()
    if arr.ndim != 1:  # pragma: no cover - a table, not a series: value by value
        return [number_or_none(v) for v in arr]
    for i in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[i] = None
    return out


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


def _figure(traces: list, layout: dict, *, empty: str | None = None) -> PlotFigure:
    fig = PlotFigure(traces, layout)
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


def _hover(value: str, label: str) -> str:
    return f"{value}<extra>{label}</extra>"


def _bar(
    x: list,
    values: pd.Series | np.ndarray,
    name: str,
    color: str | list,
    hover: str = MONEY,
    *,
    label: str | None = None,
    **kw,
) -> Props:
    """The one way a bar is drawn: NaN-safe values, one colour (or one per bar), and the
    exact number with its unit and the series' name in the hover."""
    return _Bar(
        x=x,
        y=_y(values),
        name=name,
        marker={"color": color},
        hovertemplate=_hover(hover, label or name),
        **kw,
    )


def _band(x: list, low: pd.Series, high: pd.Series, name: str, hover: str, **kw) -> list:
    """A shaded band between two invisible lines (the second fills down to the first)."""
    edge = {"mode": "lines", "line": {"width": 0}, **kw}
    return [
        _Scatter(
            x=x,
            y=_y(low),
            name=f"{name} (min)",
            showlegend=False,
            hovertemplate=_hover(hover, "Target min"),
            **edge,
        ),
        _Scatter(
            x=x,
            y=_y(high),
            name=name,
            fill="tonexty",
            fillcolor="rgba(30,125,79,0.13)",
            hovertemplate=_hover(hover, "Target max"),
            **edge,
        ),
    ]


def _line(
    x: list,
    values: pd.Series | np.ndarray,
    name: str,
    color: str,
    hover: str = MONEY,
    *,
    width: float = 2,
    dash: str | None = None,
    markers: bool | int = False,
    label: str | None = None,
    **kw,
) -> Props:
    """The one way a line is drawn; ``markers`` adds points (an int sets their size)."""
    line = {"color": color, "width": width} | ({"dash": dash} if dash else {})
    if markers is not False:
        kw["mode"] = "lines+markers"
        if markers is not True:
            kw["marker"] = {"size": markers}
    return _Scatter(
        x=x,
        y=_y(values),
        name=name,
        mode=kw.pop("mode", "lines"),
        line=line,
        hovertemplate=_hover(hover, label or name),
        **kw,
    )


# --------------------------------------------------------------------------- value stream

UNITS = "%{y:,.0f} units"
DAYS = "%{y:,.1f} days"
PCT = "%{y:.1%}"


def demand_figure(series: pd.DataFrame, *, title: str = "Demand") -> PlotFigure:
    """Actual sales (history), this plan's forecast, and the last approved plan dashed."""
    x = _x(series["month"])
    traces = [
        _line(x, series["actual"], "Actual sales", INK, UNITS, markers=5),
        _line(
            x,
            series["forecast"],
            "Forecast (this plan)",
            BRAND_2,
            UNITS,
            width=2.5,
            label="Forecast",
        ),
    ]
    if series["previous"].notna().any():
        traces.append(_line(x, series["previous"], "Last approved plan", MUTED, UNITS, dash="dash"))
    has_data = series[["actual", "forecast"]].notna().any().any()
    return _figure(
        traces,
        _base_layout(title, "Month", "Units per month"),
        empty=None if has_data else "No demand or sales yet",
    )


def accuracy_figure(series: pd.DataFrame, *, title: str = "Forecast accuracy") -> PlotFigure:
    """WAPE (bars, lower is better) and bias (line, + = over-forecast), lag 1, in %."""
    x = _x(series["month"])
    traces = [
        _bar(x, series["wape"], "WAPE", BRAND_2, PCT),
        _line(
            x,
            series["bias"],
            "Bias",
            WARN,
            "%{y:+.1%}",
            markers=True,
            label="Bias (forecast − actual)",
        ),
    ]
    layout = _base_layout(title, "Month", "Error (% of actual sales)")
    layout["yaxis"].update(tickformat=".0%", rangemode="normal")
    return _figure(
        traces, layout, empty=None if len(series) else "No accuracy yet: needs actual sales"
    )


def fva_figure(series: pd.DataFrame, *, title: str = "Forecast value added") -> PlotFigure:
    """Lag-1 WAPE of the naive forecast, the statistical baseline and the final demand per
    closed month (lower is better): the gaps are what the statistics and the consensus
    added. ``series``: month, naive_wape, baseline_wape, demand_wape."""
    x = _x(series["month"])
    traces = [
        _line(x, series["naive_wape"], "Seasonal naive", MUTED, PCT, dash="dot", markers=5),
        _line(x, series["baseline_wape"], "Statistical baseline", TEAL, PCT, markers=5),
        _line(
            x, series["demand_wape"], "Final demand (consensus)", BRAND_2, PCT, width=2.5, markers=7
        ),
    ]
    layout = _base_layout(title, "Closed month (lag 1)", "WAPE (% of actual sales)")
    layout["yaxis"].update(tickformat=".0%", rangemode="tozero")
    has_data = len(series) and series[["naive_wape", "demand_wape"]].notna().any().any()
    return _figure(
        traces,
        layout,
        empty=None if has_data else "No forecast value added yet: needs frozen plans and actuals",
    )


def production_figure(series: pd.DataFrame, *, title: str = "Production vs demand") -> PlotFigure:
    x = _x(series["month"])
    traces = [
        _bar(x, series["production"], "Production", TEAL, UNITS),
        _line(x, series["demand"], "Demand", BRAND, UNITS, width=2.5, markers=5),
    ]
    return _figure(
        traces,
        _base_layout(title, "Month", "Units per month"),
        empty=None if len(series) else "No plan yet",
    )


def inventory_figure(
    series: pd.DataFrame, *, title: str = "Ending inventory and days of supply"
) -> PlotFigure:
    """Inventory bars, days of supply against the shaded target band, shortages marked."""
    x = _x(series["month"])
    inventory = series["ending_inventory"]
    traces = [
        _bar(
            x,
            inventory,
            "Ending inventory",
            [BAD if v < 0 else "#9ec5e8" for v in inventory.fillna(0)],
            UNITS,
        ),
        *_band(x, series["dos_min"], series["dos_max"], "Target band", DAYS, yaxis="y2"),
        _line(
            x,
            series["days_of_supply"],
            "Days of supply",
            OK,
            DAYS,
            width=2.5,
            markers=5,
            yaxis="y2",
        ),
    ]
    short = series[series["short_units"].notna()]
    if len(short):
        traces.append(
            _Scatter(
                x=_x(short["month"]),
                y=_y(short["short_units"]),
                customdata=list(short["short_families"]),
                name="Shortage",
                mode="markers",
                marker={"symbol": "x", "size": 12, "color": BAD, "line": {"width": 2}},
                hovertemplate=_hover("%{y:,.0f} units short (%{customdata})", "Shortage"),
            )
        )
    layout = _base_layout(title, "Month", "Ending inventory (units)")
    layout["yaxis"]["rangemode"] = "normal"
    layout["yaxis2"] = _y2("Days of supply (days)")
    layout["margin"]["r"] = 64
    return _figure(traces, layout, empty=None if len(series) else "No plan yet")


def capacity_figure(series: pd.DataFrame, *, title: str = "Capacity: hours") -> PlotFigure:
    x = _x(series["month"])
    overloaded = series["utilization"].fillna(0).to_numpy() > 1
    traces = [
        _bar(
            x,
            series["required_hours"],
            "Required",
            [BAD if o else BRAND_2 for o in overloaded],
            "%{y:,.0f} h (utilization %{customdata:.0%})",
            customdata=_y(series["utilization"]),
        ),
        _bar(x, series["non_productive_hours"], "Non-productive", SAND, "%{y:,.0f} h"),
        _line(x, series["available_hours"], "Available", INK, "%{y:,.0f} h", line_shape="hvh"),
    ]
    layout = _base_layout(title, "Month", "Hours per month", barmode="stack")
    return _figure(traces, layout, empty=None if len(series) else "No capacity plan yet")


CAPACITY_SHARES = (
    ("productive_share", "Productive", BRAND_2),
    ("non_productive_share", "Non-productive", SAND),
    ("available_share", "Available", "#b8d8c8"),
)


def capacity_split_figure(
    series: pd.DataFrame, *, title: str = "Box score: use of available hours"
) -> PlotFigure:
    """Productive / non-productive / available shares per month, stacked to 100%."""
    x = _x(series["month"])
    traces = [_bar(x, series[col], name, color, PCT) for col, name, color in CAPACITY_SHARES]
    layout = _base_layout(title, "Month", "Share of available hours", barmode="relative")
    layout["yaxis"].update(tickformat=".0%", rangemode="normal")
    return _figure(traces, layout, empty=None if len(series) else "No capacity plan yet")


def financial_figure(series: pd.DataFrame, *, title: str = "Financial projection") -> PlotFigure:
    x = _x(series["month"])
    traces = [
        _bar(x, series["revenue"], "Revenue", BRAND_2),
        _bar(x, series["material_cost"], "Material", "#f4a261", label="Material cost"),
        _bar(x, series["conversion_cost"], "Conversion", SAND, label="Conversion cost"),
        _line(x, series["value_stream_profit"], "Value stream profit", OK, width=2.5, markers=True),
        _line(
            x,
            series["return_on_sales"],
            "Return on sales",
            INK,
            PCT,
            width=1.5,
            dash="dot",
            yaxis="y2",
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


def stream_box_figure(rows: pd.DataFrame, *, month_label: str) -> PlotFigure:
    """Revenue and value stream profit per stream in one month, return on sales on y2."""
    x = list(rows["value_stream"])
    traces = [
        _bar(x, rows["revenue"], "Revenue", BRAND_2),
        _bar(x, rows["value_stream_profit"], "Value stream profit", OK),
        _Scatter(
            x=x,
            y=_y(rows["return_on_sales"]),
            name="Return on sales",
            mode="markers",
            marker={"color": INK, "size": 11, "symbol": "diamond"},
            yaxis="y2",
            hovertemplate=_hover(PCT, "Return on sales"),
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


def stream_capacity_figure(rows: pd.DataFrame, *, month_label: str) -> PlotFigure:
    """Capacity box score per stream: productive / non-productive / available (stacked)."""
    y = list(rows["value_stream"])
    traces = [
        _Bar(
            y=y,
            x=_y(rows[col]),
            name=name,
            orientation="h",
            marker={"color": color},
            hovertemplate=_hover("%{x:.1%}", name),
        )
        for col, name, color in CAPACITY_SHARES
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


def changes_figure(summary: pd.DataFrame) -> PlotFigure:
    """Change of the horizon totals against the last approved plan, per stream, in %."""
    traces = []
    colors = {"demand": BRAND_2, "production": TEAL, "value_stream_profit": OK}
    names = {"demand": "Demand", "production": "Production", "value_stream_profit": "Profit"}
    for measure, name in names.items():
        part = summary[summary["measure"] == measure]
        unit = "" if measure == "value_stream_profit" else " units"
        now_was = np.column_stack([_y(part["current"]), _y(part["previous"])]).tolist()
        traces.append(
            _bar(
                list(part["value_stream"]),
                part["change_pct"],
                name,
                colors[measure],
                f"%{{y:+.1%}} (now %{{customdata[0]:,.0f}}{unit}, "
                f"was %{{customdata[1]:,.0f}}{unit})",
                customdata=now_was if len(part) else [],
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


def company_figure(series: pd.DataFrame, *, title: str = "Company roll-up") -> PlotFigure:
    x = _x(series["month"])
    traces = [
        _bar(x, series["value_stream_profit"], "Σ value stream profit", "#b8d8c8"),
        _bar(x, -series["sustaining_cost"], "Sustaining cost", "#f1b8ae"),
        _line(x, series["company_profit"], "Company profit", OK, width=2.5, markers=True),
        _line(x, series["cash_flow"], "Cash flow", BRAND, dash="dot", markers=True),
    ]
    layout = _base_layout(title, "Month", "Amount per month", barmode="relative")
    layout["yaxis"]["rangemode"] = "normal"
    return _figure(traces, layout, empty=None if len(series) else "No plan yet")


def profit_by_stream_figure(
    wide: pd.DataFrame, *, title: str = "Value stream profit over the horizon"
) -> PlotFigure:
    x = _x(wide.index) if len(wide) else []
    traces = [
        _bar(x, wide[code], str(code), STREAM_COLORS[i % len(STREAM_COLORS)])
        for i, code in enumerate(wide.columns)
    ]
    layout = _base_layout(title, "Month", "Value stream profit per month", barmode="relative")
    layout["yaxis"]["rangemode"] = "normal"
    return _figure(traces, layout, empty=None if len(wide) else "No plan yet")


# --------------------------------------------------------------------------- scenarios

SCENARIO_COLORS = ("#7a45c4", "#e76f51", "#2a9d8f")


def scenario_overlay_figure(
    series: dict[str, pd.DataFrame],
    measure: str,
    *,
    title: str,
    y_title: str,
    hover: str = MONEY,
) -> PlotFigure:
    """The plan and each scenario as lines on one axis (the plan solid, scenarios
    dashed), so a meeting sees where the options part."""
    traces = []
    for i, (name, frame) in enumerate(series.items()):
        if measure not in frame.columns:
            continue
        x = _x(frame["month"])
        if not name:
            traces.append(_line(x, frame[measure], "Plan", INK, hover, width=2.5, markers=True))
        else:
            color = SCENARIO_COLORS[(i - 1) % len(SCENARIO_COLORS)]
            traces.append(_line(x, frame[measure], name, color, hover, dash="dash", markers=5))
    layout = _base_layout(title, "Month", y_title)
    layout["yaxis"]["rangemode"] = "normal"
    return _figure(traces, layout, empty=None if traces else "No plan yet")
