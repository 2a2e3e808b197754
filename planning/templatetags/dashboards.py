"""Template helpers of the dashboards: a Plotly figure slot and number formatting."""

from __future__ import annotations

from html import escape as _html_escape

from django import template
from django.conf import settings
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

from planning.engine import number_or_none

register = template.Library()


@register.simple_tag
def plotly_figure(chart) -> str:
    """A ``[data-figure]`` slot plus the figure's JSON; static/js/charts.js draws it.

    ``chart`` is a :class:`planning.selectors.dashboards.Figure`; the JSON comes from
    figure's ``to_json`` (:class:`planning.charts.PlotFigure`: plain dicts, the JSON
    Plotly writes) and is embedded like ``json_script`` does (no inline code).

    A page is reused whole under its stamp and its figures never change once built
    (``Figure.json`` is written once): the slot's HTML is kept on the figure, beside
    the very JSON string, id, class and title it was written from, and written again
    if any of them is another.
    """
    title = chart.figure.layout.title.text or "Chart"
    payload = chart.json
    key = (payload, chart.id, chart.css, title)
    kept = getattr(chart, "__dict__", {}).get("_slot_html")
    if kept is not None and kept[0][0] is payload and kept[0][1:] == key[1:]:
        return kept[1]
    html = _figure_slot(chart.id, chart.css, title, payload)
    if hasattr(chart, "__dict__"):
        chart.__dict__["_slot_html"] = (key, html)
    return html


def _figure_slot(chart_id: str, css: str, title: str, payload: str) -> str:
    data_id = f"{chart_id}-data"
    # The escapes of django.utils.html.json_script (the JSON sits inside <script>): three
    # replaces, as the replacements hold none of the three characters (a translate
    # table was a tenth of the review's rendering).
    payload = payload.replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
    return format_html(
        '<div class="chart {}" id="{}" data-figure="{}" role="img" aria-label="{}"></div>'
        '<script type="application/json" id="{}">{}</script>',
        css,
        chart_id,
        data_id,
        title,
        data_id,
        mark_safe(payload),  # escaped above, exactly as json_script does
    )


@register.filter
def fmt(value, kind: str = "number") -> str:
    """Numbers as the board pack shows them; empty (NaN/None) is an em dash.

    The text is only digits, separators, signs, "%", " pp" and the dash: nothing HTML
    escapes, so the Python-written tables put it in as it is.

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


# ------------------------------------------------------------- tables drawn in Python
# The review's two big tables (the box score: a cell per metric and stream; a page of
# exceptions, each with its acknowledgement form) were most of its template's 2,800
# node renders. They are written here in one pass, escaped as the template escaped
# them (``conditional_escape`` on every value; numbers through ``fmt`` and ``delta``),
# to the same HTML the loops wrote (tests/planning/test_templatetags_tables.py renders
# both ways and compares).


def esc(value) -> str:
    """``conditional_escape`` without its lazy-argument wrapper (a tenth of the review's
    rendering went to that wrapper): escaped as ``django.utils.html.escape`` escapes
    (``html.escape``), unless already safe."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return _html_escape(str(value))


_e = esc


def var(value) -> str:
    """``{{ value }}`` as the template engine writes it (``render_value_in_context``):
    datetimes in the current time zone, numbers and dates localized, then escaped."""
    cls = value.__class__
    if cls is str:
        return _html_escape(value)
    if cls is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)  # what number_format writes of an int without grouping
    value = localize(template_localtime(value))
    if not isinstance(value, str):
        value = str(value)
    return esc(value)


@register.simple_tag
def box_score_rows(rows, columns, company_view) -> str:
    """The box score's ``<tbody>`` rows (``dashboards.box_table``): a block heading
    where the block changes, then per metric its label and one cell per column."""
    from planning.selectors.cycles import company_currency

    currency = None
    span = len(columns) + 1
    out: list[str] = []
    block = object()
    for row in rows:
        metric = row["metric"]
        kind = metric.kind
        if metric.block != block:
            block = metric.block
            out.append(
                f'\n      <tr class="block-row"><th colspan="{span}" scope="rowgroup">'
                f"{_e(block)}</th></tr>"
            )
        else:
            out.append("\n      ")
        label = metric.label
        if kind == "money":
            if currency is None:
                currency = company_currency()
            label = f"{label} ({currency})"
        out.append(f'\n      <tr>\n        <th scope="row" class="metric">{_e(label)}</th>')
        out.append("\n        ")
        for i, cell in enumerate(row["cells"]):
            company = " company-col" if i == 0 and company_view else ""
            if cell["na"]:
                body = '<span class="muted">·</span>'
            else:
                value = fmt(cell["value"], kind)
                body = f'\n          <div class="v">{value}</div>\n          '
                if cell["delta"] is not None:
                    body += (
                        f'<div class="d {_e(cell["tone"])}" title="Last approved: '
                        f'{fmt(cell["previous"], kind)}">'
                        f"{delta(cell['delta'], kind)}</div>"
                    )
                body += "\n          "
            out.append(
                f'\n        <td class="num{company}">\n          {body}\n        </td>\n        '
            )
        out.append("\n      </tr>\n    ")
    return mark_safe("".join(out))  # every value escaped above


@register.simple_tag(takes_context=True)
def exception_table_rows(context, exceptions, can_ack, show_ack) -> str:
    """A page of exception rows (``dashboards.exception_rows``, with ``explained_by``
    and, on the review, ``ack``): the badge, the cell's link, the assumptions that
    explain it and, with ``show_ack``, the acknowledgement and its form."""
    from django.template.defaultfilters import floatformat, pluralize
    from django.template.defaulttags import CsrfTokenNode

    from planning.templatetags.company_time import when

    form_head = form_next = ""
    if show_ack and can_ack:
        request = context.get("request")
        cycle = context.get("cycle")
        path = _e(request.get_full_path()) if request is not None else ""
        form_head = (
            f'<form method="post" action="/cycles/{_e(cycle.label if cycle else "")}'
            f'/exceptions/acknowledge/" class="ack-form no-print">\n          '
            f"{CsrfTokenNode().render(context)}\n          "
        )
        form_next = f'<input type="hidden" name="next" value="{path}#exceptions">\n          '
    out: list[str] = []
    for ex in exceptions:
        sev = ex["severity"]
        ack = ex.get("ack")
        badge = "bad" if sev >= 3 else ("warn" if sev == 2 else "")
        explained = "".join(
            '<div class="explained" data-testid="explained"><span class="badge ok">'
            f'Explained</span> {_e(a["text"])} <span class="muted small">— assumption '
            f'<a href="/cycles/{_e(a["cycle"])}/assumptions/{_e(a["id"])}/">{_e(a["id"])}</a>'
            f"{', ' + _e(a['owner']) if a.get('owner') else ''}"
            f"{', ' + _e(a['impact']) if a.get('impact') else ''}</span></div>"
            for a in ex.get("explained_by") or ()
        )
        if ex["kind"] == "launch_slipped":
            value = ex["value"]
            outside = f"{_e(floatformat(value, '0'))} month{_e(pluralize(value))} late"
        elif ex["distance_unbounded"]:
            outside = "new / no demand"
        elif ex["distance"] is not None:
            outside = fmt(ex["distance"], "pct")
        else:
            outside = ""
        key = _e(ex["key"])
        family = ex["product_family"]
        stream, month = _e(ex["value_stream"]), _e(ex["month"])
        out.append(
            f'\n    <tr class="sev-{_e(sev)}{" acknowledged" if ack else ""}" data-key="{key}">'
            f'\n      <td><span class="badge {badge}">{_e(ex["label"])}</span></td>'
            f"\n      <td><strong>{stream}</strong></td>"
            f"\n      <td>{_e(family or '—')}</td>"
            f'\n      <td class="nowrap">{month}</td>'
            f"\n      <td>{_e(ex['message'])}{explained}</td>"
            f'\n      <td class="num nowrap">{outside}</td>'
            f'\n      <td class="no-print nowrap"><a href="{_e(ex["url"])}" title="Open the cell'
            ' in the planning grid">Open in grid →</a></td>\n      '
        )
        if show_ack:
            out.append('<td class="ack">\n        ')
            if ack:
                by = ack.acknowledged_by
                name = (by.get_full_name() or by.username) if by is not None else ""
                out.append(
                    '<div class="ack-note" data-testid="ack-note"><span class="badge ok">'
                    f'Acknowledged</span> {_e(ack.note)} <span class="muted small">— '
                    f"{_e(name or '—')}, {_e(when(ack.acknowledged_at))}</span></div>"
                )
            out.append("\n        ")
            if can_ack:
                label = f"{stream} {_e(family)} {month}"
                out.append(
                    f"\n        {form_head}"
                    f'<input type="hidden" name="key" value="{key}">\n          {form_next}'
                    '<input type="text" name="note" required maxlength="2000" '
                    f'placeholder="Why it stands" aria-label="Acknowledgement note for {label}">'
                    '\n          <button type="submit" class="btn small">'
                    f"{'Update' if ack else 'Acknowledge'}</button>\n        </form>\n        "
                )
            out.append("\n      </td>")
        out.append("\n    </tr>\n  ")
    return mark_safe("".join(out))  # every value escaped above


CLOSED_MONTH_TEMPLATE = "planning/includes/closed_month.html"


@register.simple_tag(takes_context=True)
def closed_month(context) -> str:
    """The last closed month's block (``includes/closed_month.html`` in this context).

    The block (``selectors.actuals.closed_month_block``) is reused under the facts'
    stamp, and a save in the open plan leaves it: its HTML is kept with it, per what
    else the template reads (the company view, the month-close link) and the blocks and
    trend this page shows of it (the review leaves the company's out for a reader of
    some streams)."""
    closed = context["closed"]
    memo = closed.get("html")
    key = (
        bool(context.get("company_view")),
        str(context.get("close_url") or ""),
        tuple(id(b) for b in closed["blocks"]),
        len(closed["trend"]),
    )
    if memo is not None and key in memo:
        return memo[key]
    html = context.template.engine.get_template(CLOSED_MONTH_TEMPLATE).render(context)
    if memo is not None:
        memo[key] = html
    return html
