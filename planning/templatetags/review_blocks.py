"""The executive review's loops, and a stream dashboard's, written in Python: one tag
per block, returning its HTML.

``/review/`` is served after nearly every planner's save, and its template's loops (the
FVA table, what changed, the exception groups, the assumptions, the decisions and the
owners, the approval steps, the scenario comparison) were thousands of node renders and
escapes a page. Each tag writes the very characters its loop wrote — whitespace
included — with every value escaped as ``{{ value }}`` escaped it (``var``: localized,
then escaped unless safe); ``tests/planning/views/test_review_html.py`` renders the page
with the old template (``tests/planning/views/reference/``) and with this one and
compares them whole (the stream dashboard's likewise).
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import capfirst, date, pluralize
from django.utils.safestring import mark_safe

from planning.templatetags.dashboards import delta, esc, fmt, plotly_figure, var

register = template.Library()


def _below_zero(x) -> bool:
    """``{% if x < 0 %}``: False where the comparison fails (None, text)."""
    try:
        return x < 0
    except TypeError:
        return False


def _above_zero(x) -> bool:
    """``{% if x > 0 %}``: False where the comparison fails (None, text)."""
    try:
        return x > 0
    except TypeError:
        return False


_MISSING = object()


def _lookup(obj, name: str):
    """``obj.name`` as the template engine resolves it: a key, else an attribute (called
    when callable); ``_MISSING`` when neither. Rows may be dicts or objects alike."""
    try:
        return obj[name]
    except (TypeError, AttributeError, KeyError, ValueError, IndexError):
        pass
    value = getattr(obj, name, _MISSING)
    if callable(value) and not getattr(value, "do_not_call_in_templates", False):
        value = value()
    return value


def _key(obj, name: str):
    """``{{ obj.name }}``: a missing name renders as ``""`` (``string_if_invalid``)."""
    value = _lookup(obj, name)
    return "" if value is _MISSING else value


def _if(obj, name: str):
    """``obj.name`` inside ``{% if %}``: a missing name is None there."""
    value = _lookup(obj, name)
    return None if value is _MISSING else value


@register.simple_tag
def month_options(months, picked) -> str:
    """A month filter's ``<option>`` per month of the horizon (the review, a stream's
    dashboard)."""
    return mark_safe(  # every value escaped
        "".join(
            f'<option value="{var(m)}" {"selected" if m == picked else ""}>{var(m)}</option>'
            for m in months
        )
    )


_NO_MONTH = object()


def _fva_cells(values, month=_NO_MONTH) -> str:
    """A measured row's cells: the month (the latest closed month only), naive, baseline
    and final WAPE, both FVAs (``bad`` when negative)."""
    out = ["\n"]
    if month is not _NO_MONTH:
        out.append(f'        <td class="num">{var(month)}</td>\n')
    out.append(f'        <td class="num">{fmt(_key(values, "naive_wape"), "pct")}</td>\n')
    out.append(f'        <td class="num">{fmt(_key(values, "baseline_wape"), "pct")}</td>\n')
    out.append(f'        <td class="num">{fmt(_key(values, "demand_wape"), "pct")}</td>\n')
    for name in ("fva_statistics", "fva_consensus"):
        bad = "bad" if _below_zero(_if(values, name)) else ""
        out.append(f'        <td class="num {bad}">{fmt(_key(values, name), "dpct")}</td>\n')
    out.append("        ")
    return "".join(out)


@register.simple_tag
def review_fva_rows(rows) -> str:
    """The forecast value added table's rows (``dashboards.fva_rows``)."""
    out: list[str] = []
    for r in rows:
        latest, window = _if(r, "latest"), _if(r, "window")
        out.append(
            f'\n      <tr data-fva="{var(_key(r, "code") or "company")}">'
            f'\n        <th scope="row">{var(_key(r, "heading"))}</th>\n        '
        )
        if latest:
            out.append(_fva_cells(latest, _key(r, "month")))
        else:
            out.append('<td class="num muted" colspan="6">not measured yet</td>')
        out.append("\n        ")
        if window:
            out.append(_fva_cells(window))
        else:
            out.append('<td class="num muted" colspan="5">—</td>')
        out.append("\n      </tr>\n    ")
    return mark_safe("".join(out))  # every value escaped


@register.simple_tag
def review_change_rows(rows) -> str:
    """What changed since the last approved plan: a row per stream (``change_rows``)."""
    out: list[str] = []
    for row in rows:
        out.append(
            f'\n      <tr>\n        <th scope="row">{var(_key(row, "value_stream"))}</th>\n        '
        )
        for c in _if(row, "cells") or ():
            pct = _if(c, "change_pct")
            tone = "up" if _above_zero(pct) else ("down" if _below_zero(pct) else "")
            out.append(
                f'\n          <td class="num">{fmt(_key(c, "current"))}</td>'
                f'<td class="num muted">{fmt(_key(c, "previous"))}</td>'
                f'\n          <td class="num"><span class="chg {tone}">'
                f"{fmt(_key(c, 'change_pct'), 'spct')}</span></td>\n        "
            )
        out.append("\n      </tr>\n    ")
    return mark_safe("".join(out))  # every value escaped


@register.simple_tag
def review_exception_counts(counts) -> str:
    """`` · most in A (3), B (2)`` after the exception total (nothing without any)."""
    if not counts:
        return ""
    listed = ", ".join(f"{var(vs)} ({var(n)})" for vs, n in counts.items())
    return mark_safe(f" · most in {listed}")  # every value escaped


@register.simple_tag
def review_exception_groups(page) -> str:
    """The exceptions by kind and value stream: a row with its two filter links each."""
    from django.template.defaultfilters import urlencode

    family = page.family
    base = f"?month={var(page.month_filter)}&amp;family={var(family.code if family else '')}"
    out: list[str] = []
    for g in page.exception_groups:
        kind = var(_key(g, "kind"))
        stream = _key(g, "value_stream")
        out.append(
            f'\n        <tr><td><a href="{base}&amp;exception_kind={kind}#exceptions">'
            f"{var(_key(g, 'label'))}</a></td>"
            f'\n            <td><a href="{base}&amp;exception_kind={kind}&amp;exception_stream='
            f'{var(urlencode(stream))}#exceptions">{var(stream)}</a></td>'
            f'\n            <td class="num">{var(_key(g, "count"))}</td></tr>\n      '
        )
    return mark_safe("".join(out))  # every value escaped


@register.simple_tag
def review_assumption_rows(rows) -> str:
    """The assumptions behind the biggest changes (``assumptions_behind_biggest_changes``)."""
    out: list[str] = []
    for r in rows:
        change = _if(r, "change")
        up = "up" if _above_zero(_if(change, "change")) else "down"
        impact = _if(r, "impact")
        impact_html = f' <span class="muted small">({var(impact)})</span>' if impact else ""
        status = _key(r, "status")
        out.append(
            f"\n      <tr><td><strong>{var(_key(r, 'value_stream'))}</strong></td>"
            f"<td>{var(_key(change, 'product_family'))}</td>"
            f'<td class="nowrap">{var(_key(change, "month"))}</td>'
            f"<td>{var(_key(r, 'measure_label'))}</td>"
            f'\n        <td class="num muted">{fmt(_key(change, "previous"))}</td>'
            f'<td class="num">{fmt(_key(change, "current"))}</td>'
            f'\n        <td class="num"><span class="chg {up}">'
            f"{fmt(_key(change, 'change_pct'), 'spct')}</span></td>"
            f'\n        <td><a href="/cycles/{var(_key(r, "cycle"))}/assumptions/'
            f'{var(_key(r, "id"))}/">{var(_key(r, "text"))}</a>{impact_html}</td>'
            f"\n        <td>{var(_key(r, 'owner') or '—')}</td>"
            f'<td><span class="badge status-{var(status)}">{var(capfirst(status))}</span>'
            "</td></tr>\n    "
        )
    return mark_safe("".join(out))  # every value escaped


def _person(user) -> str:
    """``{{ u.get_full_name|default:u.username }}``."""
    return var(user.get_full_name() or user.username)


@register.simple_tag
def review_decisions(decisions) -> str:
    """The cycle's decisions, each with its owner, due date, step and status."""
    out: list[str] = []
    for d in decisions:
        owner = f"Owner {_person(d.owner)}" if d.owner else "No owner"
        due = f"due {var(date(d.due_date, 'j M Y'))}" if d.due_date else "no due date"
        step = f"· step {var(d.step.number)}" if d.step else ""
        ok = " ok" if d.status == "done" else ""
        out.append(
            f'\n    <li class="decision status-{var(d.status)}">'
            f'\n      <div class="decision-text">{var(d.text)}</div>'
            f'\n      <div class="muted small">\n        {owner}\n        · {due}\n        {step}'
            f'\n        · <span class="badge{ok}">{var(d.get_status_display())}</span>'
            "\n      </div>\n    </li>\n    "
        )
    return mark_safe("".join(out))  # every value escaped


@register.simple_tag
def review_owner_options(owners) -> str:
    """The decision form's owner ``<option>`` per active user."""
    return mark_safe(  # every value escaped
        "".join(f'<option value="{var(u.pk)}">{_person(u)}</option>' for u in owners)
    )


@register.simple_tag
def review_approval_steps(approval) -> str:
    """Steps 1–4 before the approval, each open or done."""
    open_steps = approval.open_steps
    return mark_safe(  # every value escaped
        "".join(
            f'\n      <li class="{"open" if s.number in open_steps else "done"}">'
            f'<span class="badge status-{var(s.status)}">{var(s.get_status_display())}</span>'
            f" {var(s.number)}. {var(s.name)}</li>\n      "
            for s in approval.steps_before
        )
    )


# ------------------------------------------------------------- a stream's dashboard


@register.simple_tag
def cycle_options(labels, cycle) -> str:
    """The cycle picker's ``<option>`` per cycle label, the shown cycle selected."""
    shown = cycle.label
    return mark_safe(  # every value escaped
        "".join(
            f'<option value="{var(label)}" {"selected" if label == shown else ""}>'
            f"{var(label)}</option>"
            for label in labels
        )
    )


@register.simple_tag
def family_options(families, family) -> str:
    """The family filter's ``<option>`` per family of the stream, the chosen one selected."""
    picked = family.pk if family else None
    return mark_safe(  # every value escaped
        "".join(
            f'<option value="{var(f.code)}" {"selected" if family and f.pk == picked else ""}>'
            f"{var(f.code)} — {var(f.name)}</option>"
            for f in families
        )
    )


@register.simple_tag
def stream_kpis(kpis) -> str:
    """The headline numbers (``selectors.dashboards._kpis``): label (money with the
    company's currency, as ``labelled`` writes it), value, and the warning mark."""
    from planning.selectors.cycles import company_currency

    currency = None
    out: list[str] = []
    for k in kpis:
        label = _key(k, "label")
        if _if(k, "kind") == "money":
            if currency is None:
                currency = company_currency()
            label = f"{label} ({currency})"
        warn = " kpi-warn" if _if(k, "warn") else ""
        out.append(
            f'\n  <div class="kpi{warn}">\n    <div class="label">{esc(label)}</div>'
            f'\n    <div class="value">{fmt(_key(k, "value"), _key(k, "kind"))}</div>'
            "\n  </div>\n  "
        )
    return mark_safe("".join(out))  # every value escaped


# ------------------------------------------------------------------ scenario compare


@register.simple_tag
def scenario_compare_rows(compare) -> str:
    """The plan and each chosen scenario, with its change, per measure."""
    out: list[str] = []
    for row in compare["rows"]:
        kind = row["kind"]
        cells = "".join(
            f'<td class="num">{fmt(c["value"], kind)}</td>'
            f'<td class="num">{delta(c["delta"], "money")}</td>'
            for c in row["cells"]
        )
        out.append(
            f'\n      <tr><th scope="row">{var(row["label"])}</th>'
            f'<td class="num">{fmt(row["plan"], kind)}</td>'
            f"\n        {cells}</tr>\n    "
        )
    return mark_safe("".join(out))  # every value escaped


def _scenario_exception_items(items, badge: str, word: str) -> str:
    out = []
    for e in items[:12]:
        family = e.get("product_family")
        fam = f" · {var(family)}" if family else ""
        out.append(
            f'<li><span class="badge {badge}">{word}</span> <strong>'
            f"{var(e.get('value_stream') or 'Company')}{fam} · {var(e.get('month', ''))}"
            f"</strong> {var(e.get('message', ''))}</li>"
        )
    if len(items) > 12:
        out.append(f'<li class="muted">and {var(len(items) - 12)} more</li>')
    return "".join(out)


@register.simple_tag
def scenario_compare_exceptions(compare) -> str:
    """Per chosen scenario: the exceptions it removes and adds against the plan."""
    out: list[str] = []
    for ex in compare["exceptions"]:
        removed, added = ex["removed"], ex["added"]
        parts = [
            f'\n    <div data-testid="scenario-exceptions-{var(ex["name"])}">'
            f'\n      <h3 class="small"><span class="badge scenario-badge">{var(ex["name"])}'
            "</span> against the plan</h3>"
            f'\n      <p class="small"><strong>Removes {var(len(removed))}</strong> exception'
            f"{pluralize(len(removed))}{':' if removed else '.'}</p>\n      "
        ]
        if removed:
            parts.append(
                f'<ul class="small">{_scenario_exception_items(removed, "ok", "gone")}</ul>'
            )
        parts.append(
            f'\n      <p class="small"><strong>Adds {var(len(added))}</strong> exception'
            f"{pluralize(len(added))}{':' if added else '.'}</p>\n      "
        )
        if added:
            parts.append(f'<ul class="small">{_scenario_exception_items(added, "bad", "new")}</ul>')
        parts.append("\n    </div>\n  ")
        out.append("".join(parts))
    return mark_safe("".join(out))  # every value escaped


@register.simple_tag
def scenario_compare_figures(compare) -> str:
    """A chart card per figure of the comparison."""
    return mark_safe(  # plotly_figure escapes its values
        "".join(f'<div class="chart-card">{plotly_figure(f)}</div>' for f in compare["figures"])
    )
