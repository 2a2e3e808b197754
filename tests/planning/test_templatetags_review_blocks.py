"""The review's loops written in Python (``templatetags.review_blocks``) against the very
loops of the old templates (cut from ``views/reference/*_before_revhtml.html``), on rows
the demo never makes: names that need escaping, missing keys and cells, NaN, None,
negative and zero changes, and rows as objects instead of dicts (the template reads both).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import engines

REFERENCE = Path(__file__).parent / "views" / "reference"
REVIEW = (REFERENCE / "review_before_revhtml.html").read_text()
ASSUMPTIONS = (REFERENCE / "review_assumptions_before_revhtml.html").read_text()


def _loop(source: str, start: str, loops: int = 1) -> str:
    i = j = source.index(start)
    for _ in range(loops):
        j = source.index("{% endfor %}", j) + len("{% endfor %}")
    return source[i:j]


def _same(old_loop: str, tag: str, context: dict) -> str:
    engine = engines["django"]
    old = engine.from_string("{% load dashboards %}" + old_loop).render(context)
    new = engine.from_string("{% load review_blocks %}" + tag).render(context)
    assert new == old
    return new


def _obj(row):
    """The same row as an object (attributes instead of keys), nested dicts too."""
    if isinstance(row, dict):
        return SimpleNamespace(**{k: _obj(v) for k, v in row.items()})
    if isinstance(row, list):
        return [_obj(v) for v in row]
    return row


NAN = math.nan
FVA = [
    {
        "code": "",
        "heading": "Company",
        "month": "2026-12",
        "latest": {
            "naive_wape": 0.2,
            "baseline_wape": 0.15,
            "demand_wape": 0.1,
            "fva_statistics": 0.05,
            "fva_consensus": -0.05,
        },
        "window": {
            "naive_wape": NAN,
            "baseline_wape": None,
            "demand_wape": 0.0,
            "fva_statistics": -0.0,
            "fva_consensus": NAN,
        },
    },
    {"code": "A<&>", "heading": 'Stream "A" & <b>', "month": "", "latest": None, "window": {}},
    {"code": "B", "heading": "B", "month": "2026-11", "latest": {"naive_wape": 1}, "window": None},
    {"code": "C", "heading": "C"},  # no month, no latest, no window
]


@pytest.mark.parametrize("rows", [FVA, _obj(FVA)], ids=["dicts", "objects"])
def test_fva_rows(rows):
    html = _same(
        _loop(REVIEW, "{% for r in page.fva_rows %}"),
        "{% review_fva_rows page.fva_rows %}",
        {"page": {"fva_rows": rows}},
    )
    assert "not measured yet" in html and "A&lt;&amp;&gt;" in html


CHANGES = [
    {
        "value_stream": "A & <b>",
        "cells": [
            {"current": 10.0, "previous": 8.0, "change": 2.0, "change_pct": 0.25},
            {"current": 5.0, "previous": 8.0, "change": -3.0, "change_pct": -0.375},
            None,
        ],
    },
    {
        "value_stream": "B",
        "cells": [{"current": NAN, "previous": None, "change_pct": 0.0}, {}, {"change_pct": NAN}],
    },
    {"value_stream": "C", "cells": []},
    {"value_stream": "D"},
]


@pytest.mark.parametrize("rows", [CHANGES, _obj(CHANGES)], ids=["dicts", "objects"])
def test_change_rows(rows):
    html = _same(
        _loop(REVIEW, "{% for row in page.change_rows %}", loops=2),
        "{% review_change_rows page.change_rows %}",
        {"page": {"change_rows": rows}},
    )
    assert 'class="chg up"' in html and 'class="chg down"' in html and 'class="chg "' in html


ASSUMPTION_ROWS = [
    {
        "id": 7,
        "cycle": "2027-01",
        "value_stream": "A&B",
        "measure_label": "Demand <units>",
        "text": 'Promo "spring" <b>',
        "owner": "ann",
        "impact": "+5% & more",
        "status": "open",
        "change": {
            "product_family": "F<1>",
            "month": "2027-03",
            "previous": 100.0,
            "current": 150.0,
            "change": 50.0,
            "change_pct": 0.5,
        },
    },
    {
        "id": 8,
        "cycle": "2027-01",
        "value_stream": "B",
        "measure_label": "Production",
        "text": "Down",
        "owner": "",
        "impact": "",
        "status": "confirmed",
        "change": {"product_family": "", "month": "2027-04", "previous": 0.0, "current": 0.0},
    },
    {"id": 9, "text": "bare", "change": None},
]


@pytest.mark.parametrize("rows", [ASSUMPTION_ROWS, _obj(ASSUMPTION_ROWS)], ids=["dicts", "objects"])
def test_assumption_rows(rows):
    html = _same(
        _loop(ASSUMPTIONS, "{% for r in rows %}"),
        "{% review_assumption_rows rows %}",
        {"rows": rows},
    )
    assert "Promo &quot;spring&quot; &lt;b&gt;" in html and "Confirmed" in html


GROUPS = [
    {"kind": "overload", "label": "Overload", "value_stream": "A B&C/é", "count": 3},
    {"kind": "shortage", "label": "Shortage <x>", "value_stream": "", "count": 1200},
]


@pytest.mark.parametrize("family", [None, SimpleNamespace(code="F&1")])
@pytest.mark.parametrize("groups", [GROUPS, _obj(GROUPS)], ids=["dicts", "objects"])
def test_exception_groups(groups, family):
    page = SimpleNamespace(month_filter="2027-02", family=family, exception_groups=groups)
    html = _same(
        _loop(REVIEW, "{% for g in page.exception_groups %}"),
        "{% review_exception_groups page %}",
        {"page": page},
    )
    assert "exception_stream=A%20B%26C/%C3%A9" in html and "1200" in html


@pytest.mark.parametrize("counts", [{}, {"A&B": 3, "C": 1}, {"X": 12000}])
def test_exception_counts(counts):
    old = (
        "{% if page.exception_counts %} · most in {% for vs, n in page.exception_counts.items %}"
        "{{ vs }} ({{ n }}){% if not forloop.last %}, {% endif %}{% endfor %}{% endif %}"
    )
    _same(
        old,
        "{% review_exception_counts page.exception_counts %}",
        {"page": {"exception_counts": counts}},
    )


def test_decisions_owners_and_steps():
    class User(SimpleNamespace):
        def get_full_name(self):
            return f"{self.first} {self.last}".strip()

    class Decision(SimpleNamespace):
        def get_status_display(self):
            return self.status.title() + " <now>"

    ann = User(pk=3, first="Ann <b>", last="O'Neil", username="ann")
    bob = User(pk=12345, first="", last="", username="bob&co")
    decisions = [
        Decision(
            status="open",
            text="Add <b>a</b> shift",
            owner=ann,
            due_date=dt.date(2027, 2, 1),
            step=SimpleNamespace(number=2),
        ),
        Decision(status="done", text="x", owner=bob, due_date=None, step=None),
        Decision(status='we"ird', text="", owner=None, due_date=dt.date(2027, 12, 31), step=None),
    ]
    page = {"decisions": decisions, "owners": [ann, bob]}
    _same(
        _loop(REVIEW, "{% for d in page.decisions %}"),
        "{% review_decisions page.decisions %}",
        {"page": page},
    )
    _same(
        _loop(REVIEW, "{% for u in page.owners %}"),
        "{% review_owner_options page.owners %}",
        {"page": page},
    )

    class Step(SimpleNamespace):
        def get_status_display(self):
            return {"done": "Done", "open": "In <progress>"}[self.status]

    approval = SimpleNamespace(
        open_steps=[2, 4],
        steps_before=[
            Step(number=n, status="open" if n % 2 == 0 else "done", name=f"S&{n}")
            for n in (1, 2, 3, 4)
        ],
    )
    _same(
        _loop(REVIEW, "{% for s in page.approval.steps_before %}"),
        "{% review_approval_steps page.approval %}",
        {"page": {"approval": approval}},
    )


@pytest.mark.parametrize("picked", ["", "2027-02", "nope"])
def test_month_options(picked):
    _same(
        _loop(REVIEW, "{% for m in page.months %}"),
        "{% month_options page.months page.month_filter %}",
        {"page": {"months": ["2027-01", "2027-02", "<x>"], "month_filter": picked}},
    )
