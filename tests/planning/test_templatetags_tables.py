"""The box score and the exception rows are written in Python (``box_score_rows``,
``exception_table_rows``): the HTML must be what the template loops they replaced wrote,
byte for byte — every branch (blocks, company column, empty cells, changes and their
tone, launches late by one month or more, explained rows, acknowledgements with and
without who, the form or none) and every value escaped."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone

from planning.dashboards import BOX_METRICS

pytestmark = pytest.mark.django_db

# The loops as the templates held them before (the reference).
BOX_LOOP = """{% load dashboards %}
    {% for row in page.box_rows %}
      {% ifchanged row.metric.block %}<tr class="block-row"><th colspan="{{ page.box_columns|length|add:1 }}" scope="rowgroup">{{ row.metric.block }}</th></tr>{% endifchanged %}
      <tr>
        <th scope="row" class="metric">{% labelled row.metric %}</th>
        {% for cell in row.cells %}
        <td class="num{% if forloop.first and page.company_view %} company-col{% endif %}">
          {% if cell.na %}<span class="muted">·</span>{% else %}
          <div class="v">{{ cell.value|fmt:row.metric.kind }}</div>
          {% if cell.delta is not None %}<div class="d {{ cell.tone }}" title="Last approved: {{ cell.previous|fmt:row.metric.kind }}">{{ cell.delta|delta:row.metric.kind }}</div>{% endif %}
          {% endif %}
        </td>
        {% endfor %}
      </tr>
    {% endfor %}
"""  # noqa: E501

BOX_TAG = """{% load dashboards %}
    {% box_score_rows page.box_rows page.box_columns page.company_view %}
"""

EXCEPTION_LOOP = """{% load dashboards %}
  {% for ex in exceptions %}
    <tr class="sev-{{ ex.severity }}{% if ex.ack %} acknowledged{% endif %}" data-key="{{ ex.key }}">
      <td><span class="badge {% if ex.severity >= 3 %}bad{% elif ex.severity == 2 %}warn{% endif %}">{{ ex.label }}</span></td>
      <td><strong>{{ ex.value_stream }}</strong></td>
      <td>{{ ex.product_family|default:"—" }}</td>
      <td class="nowrap">{{ ex.month }}</td>
      <td>{{ ex.message }}{% for a in ex.explained_by %}<div class="explained" data-testid="explained"><span class="badge ok">Explained</span> {{ a.text }} <span class="muted small">— assumption <a href="/cycles/{{ a.cycle }}/assumptions/{{ a.id }}/">{{ a.id }}</a>{% if a.owner %}, {{ a.owner }}{% endif %}{% if a.impact %}, {{ a.impact }}{% endif %}</span></div>{% endfor %}</td>
      <td class="num nowrap">{% if ex.kind == "launch_slipped" %}{{ ex.value|floatformat:"0" }} month{{ ex.value|pluralize }} late{% elif ex.distance_unbounded %}new / no demand{% elif ex.distance is not None %}{{ ex.distance|fmt:"pct" }}{% endif %}</td>
      <td class="no-print nowrap"><a href="{{ ex.url }}" title="Open the cell in the planning grid">Open in grid →</a></td>
      {% if show_ack %}<td class="ack">
        {% if ex.ack %}<div class="ack-note" data-testid="ack-note"><span class="badge ok">Acknowledged</span> {{ ex.ack.note }} <span class="muted small">— {{ ex.ack.acknowledged_by.get_full_name|default:ex.ack.acknowledged_by.username|default:"—" }}, {{ ex.ack.acknowledged_at|when }}</span></div>{% endif %}
        {% if can_ack %}
        <form method="post" action="/cycles/{{ cycle.label }}/exceptions/acknowledge/" class="ack-form no-print">
          {% csrf_token %}
          <input type="hidden" name="key" value="{{ ex.key }}">
          <input type="hidden" name="next" value="{{ request.get_full_path }}#exceptions">
          <input type="text" name="note" required maxlength="2000" placeholder="Why it stands" aria-label="Acknowledgement note for {{ ex.value_stream }} {{ ex.product_family }} {{ ex.month }}">
          <button type="submit" class="btn small">{% if ex.ack %}Update{% else %}Acknowledge{% endif %}</button>
        </form>
        {% endif %}
      </td>{% endif %}
    </tr>
  {% endfor %}
"""  # noqa: E501

EXCEPTION_TAG = """{% load dashboards %}
  {% exception_table_rows exceptions can_ack show_ack %}
"""

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _render(source: str, context: dict, request=None) -> str:
    html = engines["django"].from_string(source).render(context, request)
    return _CSRF.sub("CSRF", html)


def _box_rows(company_view: bool) -> tuple[list[dict], list[tuple[str, str]]]:
    columns = ([("", "Company")] if company_view else []) + [("A", "A"), ("B<&>", "B<&>")]
    values = [1234567.4, -0.0004, None, 0.25, -1520.5, 3.04999, 0.0]
    rows = []
    for i, metric in enumerate(BOX_METRICS):
        if metric.company_only and not company_view:
            continue
        cells = []
        for j, (code, _) in enumerate(columns):
            if metric.company_only and code:
                cells.append({"value": None, "previous": None, "delta": None, "na": True})
                continue
            cur = values[(i + j) % len(values)]
            prev = values[(i + 2 * j + 1) % len(values)]
            d = None if cur is None or prev is None else cur - prev
            tone = ["", "good", "bad"][(i + j) % 3]
            cells.append({"value": cur, "previous": prev, "delta": d, "tone": tone, "na": False})
        rows.append({"metric": metric, "cells": cells})
    return rows, columns


@pytest.mark.parametrize("company_view", [True, False])
def test_box_score_rows_write_what_the_template_loop_wrote(company, company_view):
    rows, columns = _box_rows(company_view)
    page = SimpleNamespace(box_rows=rows, box_columns=columns, company_view=company_view)
    reference = _render(BOX_LOOP, {"page": page})
    assert "company-col" in reference if company_view else "company-col" not in reference
    assert _render(BOX_TAG, {"page": page}) == reference


def _exceptions(user) -> list[dict]:
    at = timezone.make_aware(dt.datetime(2026, 3, 1, 9, 30))
    base = {
        "kind": "overload",
        "key": "overload:A:F<1>:2026-03",
        "label": "Overload",
        "severity": 3,
        "value_stream": "A&B",
        "product_family": "F<1>",
        "month": "2026-03",
        "value": 2.0,
        "distance": 0.125,
        "distance_unbounded": False,
        "message": 'Needs "120%" <of> capacity',
        "url": "/cycles/2026-03/grid/A/?focus=a&b=<c>",
        "explained_by": [],
        "ack": None,
    }
    named = SimpleNamespace(get_full_name=lambda: "Ann <Exec>", username="ann")
    unnamed = SimpleNamespace(get_full_name=lambda: "", username="bob&co")
    return [
        base,
        {**base, "severity": 2, "product_family": "", "distance": None},
        {**base, "severity": 1, "product_family": None, "distance_unbounded": True},
        {**base, "kind": "launch_slipped", "value": 1.0},
        {**base, "kind": "launch_slipped", "value": 3.0, "severity": 2},
        {
            **base,
            "kind": "demand_change",
            "explained_by": [
                {"text": "Promo <b>", "cycle": "2026-03", "id": 7, "owner": "O&M", "impact": ""},
                {"text": "Tender", "cycle": "2026-03", "id": 8, "owner": "", "impact": "+5%"},
            ],
        },
        {
            **base,
            "ack": SimpleNamespace(note="Seen <ok>", acknowledged_by=named, acknowledged_at=at),
        },
        {**base, "ack": SimpleNamespace(note="", acknowledged_by=unnamed, acknowledged_at=at)},
    ]


@pytest.mark.parametrize(
    ("show_ack", "can_ack"), [(True, True), (True, False), (False, False), (False, True)]
)
def test_exception_rows_write_what_the_template_loop_wrote(company, show_ack, can_ack):
    request = RequestFactory().get("/review/?month=2026-03&x=<y>")
    context = {
        "exceptions": _exceptions(None),
        "cycle": SimpleNamespace(label="2026-03"),
        "show_ack": show_ack,
        "can_ack": can_ack,
    }
    reference = _render(EXCEPTION_LOOP, context, request)
    assert ("ack-form" in reference) == (show_ack and can_ack)
    assert ("ack-note" in reference) == show_ack
    assert _render(EXCEPTION_TAG, context, request) == reference


def test_exception_rows_without_the_acknowledgement_arguments(company):
    """The stream dashboard includes the table without ``can_ack``/``show_ack``."""
    context = {"exceptions": _exceptions(None)}
    reference = _render(EXCEPTION_LOOP, context)
    assert _render(EXCEPTION_TAG, context) == reference


def test_an_acknowledgement_whose_user_was_deleted_shows_a_dash(company):
    """``acknowledged_by`` is set to NULL when the user goes: the template's filter
    argument ``ex.ack.acknowledged_by.username`` failed on it (an error page)."""
    row = {
        **_exceptions(None)[0],
        "ack": SimpleNamespace(note="kept", acknowledged_by=None, acknowledged_at=None),
    }
    html = _render(EXCEPTION_TAG, {"exceptions": [row], "show_ack": True})
    shown = '<span class="badge ok">Acknowledged</span> kept <span class="muted small">— —, </span>'
    assert shown in html
