"""Template helpers of the dashboards: a Plotly figure slot and number formatting."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from planning.engine import number_or_none

register = template.Library()

# Same escapes as django.utils.html.json_script: the JSON may sit inside <script>.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def plotly_figure(chart) -> str:
    """A ``[data-figure]`` slot plus the figure's JSON; static/js/charts.js draws it.

    ``chart`` is a :class:`planning.selectors.dashboards.Figure`; the JSON comes from
    figure's ``to_json`` (:class:`planning.charts.PlotFigure`: plain dicts, the JSON
    Plotly writes) and is embedded like ``json_script`` does (no inline code).
    """
    data_id = f"{chart.id}-data"
    title = chart.figure.layout.title.text or "Chart"
    payload = chart.json.translate(_JSON_ESCAPES)
    return format_html(
        '<div class="chart {}" id="{}" data-figure="{}" role="img" aria-label="{}"></div>'
        '<script type="application/json" id="{}">{}</script>',
        chart.css,
        chart.id,
        data_id,
        title,
        data_id,
        mark_safe(payload),  # escaped above, exactly as json_script does
    )


@register.filter
def fmt(value, kind: str = "number") -> str:
    """Numbers as the board pack shows them; empty (NaN/None) is an em dash.

    kinds: money/units/int (thousands, no decimals), days (1 decimal), pct (1 decimal,
    value is a share), dpct (signed percentage points of a share), signed (thousands, +/−).
    """
    f = number_or_none(value)
    if f is None:
        return "—"
    if kind in ("pct", "dpct", "spct"):
        f = round(f, 3) + 0.0  # no "-0.0%"
    elif kind == "days":
        f = round(f, 1) + 0.0
    else:
        f = round(f) + 0.0
    if kind == "pct":
        return f"{f * 100:,.1f}%".replace("-", "−")
    if kind == "dpct":
        return f"{f * 100:+,.1f} pp".replace("-", "−")
    if kind == "spct":
        return f"{f * 100:+,.1f}%".replace("-", "−")
    if kind == "days":
        return f"{f:,.1f}".replace("-", "−")
    if kind == "signed":
        return f"{f:+,.0f}".replace("-", "−")
    return f"{f:,.0f}".replace("-", "−")


@register.filter
def delta(value, kind: str = "money") -> str:
    """A change in the unit of its metric: percentage points for shares."""
    f = number_or_none(value)
    if f is None:
        return ""
    if kind == "pct":
        return fmt(f, "dpct")
    if kind == "days":
        return f"{f:+,.1f}".replace("-", "−")
    return fmt(f, "signed")


@register.simple_tag(takes_context=True)
def labelled(context, metric) -> str:
    """A box score line's or headline number's label, with the company's currency on
    money (as the grid and the closed-month block show it). The currency is read once
    per page (a cache read per line was a tenth of the review's rendering)."""
    from planning.selectors.cycles import company_currency

    label = metric["label"] if isinstance(metric, dict) else metric.label
    kind = metric.get("kind") if isinstance(metric, dict) else metric.kind
    if kind != "money":
        return label
    currency = context.render_context.get("sofp_currency")
    if currency is None:
        currency = context.render_context["sofp_currency"] = company_currency()
    return f"{label} ({currency})"
