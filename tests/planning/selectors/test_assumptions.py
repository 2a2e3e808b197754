"""Reading the register: the rights table, filters, the exceptions an assumption explains
and the assumptions behind the biggest changes (the board pack's selector)."""

from __future__ import annotations

import datetime as dt

import pytest

from planning.selectors.approval import approval_open_items
from planning.selectors.assumptions import (
    AssumptionFilters,
    assumption_rights,
    assumptions_behind_biggest_changes,
    assumptions_filtered,
    assumptions_visible,
    exceptions_explained,
)
from planning.selectors.dashboards import review_page
from planning.services.assumptions import assumption_update
from tests.factories import MembershipFactory, UserFactory
from tests.planning.assumption_data import FEB, JAN, MAR, assumption_new, moved_plan

pytestmark = pytest.mark.django_db


def _new(cycle, user, **kw):
    return assumption_new(cycle, user, **{"last_month": JAN, **kw})


def test_rights_table(stream_a, stream_b, planner_a, sales_user, finance_user, executive):
    a, b = stream_a.pk, stream_b.pk
    planner = assumption_rights(user=planner_a)
    assert planner.may_change(value_stream_id=a, measure="conversion_cost")
    assert not planner.may_change(value_stream_id=b)
    sales = assumption_rights(user=sales_user)
    assert sales.may_change(value_stream_id=b, measure="demand")
    assert not sales.may_change(value_stream_id=b, measure="production")
    assert not assumption_rights(user=finance_user).any
    assert assumption_rights(user=executive).may_change(value_stream_id=b, measure="production")
    viewer = UserFactory()
    MembershipFactory(user=viewer, value_stream=stream_b, role="viewer")
    assert not assumption_rights(user=viewer).any


def test_filters_and_who_reads_what(cycle, family_a, family_b, planner_a, executive):
    one = _new(cycle, executive, last_month=MAR)
    wide = _new(
        cycle, executive, product_family="", text="All of A", first_month=FEB, last_month=FEB
    )
    other = _new(cycle, executive, value_stream="B", product_family="B-1", text="B tender")
    assumption_update(assumption=other, user=executive, version=1, changes={"status": "retired"})
    every = assumptions_visible(cycle=cycle, user=executive)

    def ids(**kw):
        return {a.pk for a in assumptions_filtered(every, AssumptionFilters(**kw))}

    assert ids() == {one.pk, wide.pk, other.pk}
    assert ids(value_stream="B") == {other.pk}
    assert ids(product_family="A-1") == {one.pk, wide.pk}  # the stream-wide one covers A-1
    assert ids(status="retired") == {other.pk}
    assert ids(month=FEB) == {one.pk, wide.pk}
    assert ids(month=dt.date(2027, 4, 1)) == set()
    assert ids(text="tender") == {one.pk, other.pk}
    assert ids(owner=executive.username, measure="demand") == {one.pk, wide.pk, other.pk}
    # A planner of A reads A's register only.
    assert {a.pk for a in assumptions_visible(cycle=cycle, user=planner_a)} == {one.pk, wide.pk}


def test_a_demand_change_an_assumption_covers_is_explained(family_a, family_b, executive):
    _, cycle = moved_plan(family_a, family_b)
    page = review_page(
        cycle=cycle, user=executive, streams=[family_a.value_stream, family_b.value_stream]
    )
    changes = [r for r in page.exceptions if r["kind"] == "demand_change"]
    assert {(r["product_family"], r["month"]) for r in changes} == {
        ("A-1", "2027-01"),
        ("A-1", "2027-03"),
    }
    assert all(r["explained_by"] == [] for r in changes)
    assert approval_open_items(cycle=cycle).unexplained_demand_changes.count == 2

    a = _new(cycle, executive, text="Acme tender in January")
    _new(cycle, executive, value_stream="B", product_family="", text="B is flat")  # elsewhere
    rows = exceptions_explained(cycle=cycle, rows=[dict(r) for r in changes])
    explained = {r["month"]: [x["text"] for x in r["explained_by"]] for r in rows}
    assert explained == {"2027-01": ["Acme tender in January"], "2027-03": []}
    assert approval_open_items(cycle=cycle).unexplained_demand_changes.count == 1

    # Retired assumptions no longer explain; confirmed ones do.
    assumption_update(assumption=a, user=executive, version=1, changes={"status": "retired"})
    rows = exceptions_explained(cycle=cycle, rows=[dict(r) for r in changes])
    assert all(r["explained_by"] == [] for r in rows)
    assumption_update(assumption=a, user=executive, version=2, changes={"status": "confirmed"})
    rows = exceptions_explained(cycle=cycle, rows=[dict(r) for r in changes])
    assert {r["month"]: bool(r["explained_by"]) for r in rows} == {
        "2027-01": True,
        "2027-03": False,
    }


def test_assumptions_behind_the_biggest_changes(family_a, family_b, executive):
    _, cycle = moved_plan(family_a, family_b)
    assert assumptions_behind_biggest_changes(cycle, 5) == []
    jan = _new(cycle, executive, text="Tender (Jan)")
    spring = _new(
        cycle,
        executive,
        product_family="",
        first_month=FEB,
        last_month=MAR,
        text="Spring promotion for all of A",
        impact="+200 units in March",
    )
    _new(cycle, executive, measure="production", text="Nothing moved here")
    flat = _new(cycle, executive, value_stream="B", product_family="B-1", text="B flat")
    rows = assumptions_behind_biggest_changes(cycle, 10)
    assert [r["id"] for r in rows] == [spring.pk, jan.pk]  # +200 in March, then +50
    first = rows[0]
    assert first["change"] == {
        "product_family": "A-1",
        "month": "2027-03",
        "previous": 100.0,
        "current": 300.0,
        "change": 200.0,
        "change_pct": 2.0,
    }
    assert (first["impact"], first["owner"], first["status"]) == (
        "+200 units in March",
        executive.username,
        "open",
    )
    assert flat.pk not in [r["id"] for r in rows]
    assert [r["id"] for r in assumptions_behind_biggest_changes(cycle, 1)] == [spring.pk]
    only_b = assumptions_behind_biggest_changes(cycle, 5, value_streams=[family_b.value_stream])
    assert only_b == []
