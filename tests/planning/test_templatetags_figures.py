"""``plotly_figure`` writes the slot the earlier tag wrote (``json_script``'s escapes by a
translate table), keeps it on the figure, and writes it again when the figure is another;
``fmt``'s text never needs escaping (the Python-written tables put it in as it is)."""

from __future__ import annotations

import html
import json
from types import SimpleNamespace

import pytest
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from planning.selectors.dashboards import Figure
from planning.templatetags.dashboards import delta, fmt, plotly_figure

_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _before(chart) -> str:
    """The tag as it was."""
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
        mark_safe(payload),
    )


class _Plot:
    def __init__(self, title, data):
        self.layout = SimpleNamespace(title=SimpleNamespace(text=title))
        self.data = data

    def to_json(self) -> str:
        return json.dumps({"data": self.data, "layout": {"title": self.layout.title.text}})


@pytest.mark.parametrize(
    "title, data",
    [
        ('Profit <by> stream & "company"', [{"name": "</script><b>&amp;", "y": [1, -2.5]}]),
        ("", []),
        (None, [{"name": "plain", "y": [None]}]),
    ],
)
def test_the_figure_slot_is_the_earlier_tags(title, data):
    chart = Figure("chart-x&y", _Plot(title, data), css='wide "one"')
    first = plotly_figure(chart)
    assert first == _before(chart)
    assert plotly_figure(chart) is first  # kept on the figure
    assert "</script><b>" not in first.split('application/json"', 1)[1][:-9]


def test_another_figure_or_title_writes_the_slot_again():
    plot = _Plot("One", [{"y": [1]}])
    chart = Figure("chart-a", plot)
    first = plotly_figure(chart)
    plot.layout.title.text = "Two <2>"
    second = plotly_figure(chart)
    assert second != first and second == _before(chart)
    other = Figure("chart-a", _Plot("One", [{"y": [2]}]))
    assert plotly_figure(other) == _before(other) != first


@pytest.mark.parametrize(
    "kind", ["number", "money", "units", "int", "days", "pct", "dpct", "spct", "signed"]
)
def test_fmt_and_delta_text_needs_no_escaping(kind):
    values = [None, "", "x<y", float("nan"), float("inf"), -0.0004, 0, 1, -1, 0.5, -1234567.891]
    values += [1e18, -1e-9, "12.5", True]
    for value in values:
        for text in (fmt(value, kind), delta(value, kind)):
            assert html.escape(text) == text, (value, kind, text)
