"""A JSON page of plan values is built from plain rows: exactly what the serializer writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.api.plan_value_pages import PlanValuePage, plan_value_dicts
from planning.api.serializers import PlanValueSerializer
from planning.models import PlanValue
from planning.selectors.plans import plan_values_visible

C = "/api/v1/cycles/2027-01"


@pytest.fixture
def odd_plan(plan, admin_user):
    """The small plan with the cells that are easy to get wrong as text."""
    cells = PlanValue.objects.filter(cycle=plan).order_by("pk")
    first, second, third, fourth, fifth = (c.pk for c in cells[:5])
    moment = dt.datetime(2027, 1, 5, 8, 0, 0, tzinfo=dt.UTC)  # no microseconds
    PlanValue.objects.filter(pk=first).update(
        value=Decimal("1234567890123.456789"), comment='say "hi" — ✓', updated_at=moment
    )
    PlanValue.objects.filter(pk=second).update(value=Decimal("0.000001"), updated_by=admin_user)
    PlanValue.objects.filter(pk=third).update(value=None, version=2)  # cleared: a tombstone
    PlanValue.objects.filter(pk=fourth).update(value=Decimal("0"))
    PlanValue.objects.filter(pk=fifth).update(
        value=Decimal("2.5"), updated_at=moment + dt.timedelta(microseconds=7)
    )
    return plan


@pytest.mark.parametrize("include_cleared", [False, True])
def test_rows_are_the_serializers_dicts(odd_plan, admin_user, include_cleared):
    qs = plan_values_visible(cycle=odd_plan, user=admin_user, include_cleared=include_cleared)
    expected = [dict(row) for row in PlanValueSerializer(qs, many=True).data]
    rows = plan_value_dicts(qs)
    assert rows == expected
    # Same key order too: the JSON body, and so its ETag, is the serializer's byte for byte.
    assert [list(row) for row in rows] == [list(row) for row in expected]
    assert len(expected) == qs.count() > 20
    values = {row["value"] for row in expected}
    assert {"0.000001", "0.000000", "2.500000"} <= values
    # Exact on PostgreSQL; SQLite keeps 15 digits of it (both read the same either way).
    assert any(v and v.startswith("1234567890123.4") and len(v) == 20 for v in values)
    assert (None in values) is include_cleared
    assert any(row["updated_by"] == admin_user.username for row in expected)
    assert "2027-01-05T08:00:00Z" in {row["updated_at"] for row in expected}
    assert "2027-01-05T08:00:00.000007Z" in {row["updated_at"] for row in expected}


def test_a_page_slices_and_counts_like_the_queryset(odd_plan, admin_user):
    qs = plan_values_visible(cycle=odd_plan, user=admin_user)
    page = PlanValuePage(qs)
    assert page.count() == len(page) == qs.count()
    expected = [dict(row) for row in PlanValueSerializer(qs[5:12], many=True).data]
    assert page[5:12] == expected
    assert page[10_000:10_010] == []
    with pytest.raises(TypeError):
        page[3]


def test_an_empty_queryset_is_an_empty_page(odd_plan, admin_user):
    assert plan_value_dicts(PlanValue.objects.none()) == []
    assert plan_value_dicts(PlanValue.objects.filter(cycle=odd_plan, measure="nothing")) == []


def test_api_pages_hold_the_serializers_rows_in_order(client_for, admin_user, odd_plan):
    api = client_for(admin_user)
    qs = plan_values_visible(cycle=odd_plan, user=admin_user)
    expected = [dict(row) for row in PlanValueSerializer(qs, many=True).data]
    seen, url = [], f"{C}/plan-values/?page_size=7"
    while url:
        body = api.get(url).json()
        assert body["count"] == len(expected)
        seen += body["results"]
        url = body["next"]
    assert seen == expected


def test_a_page_and_its_count_come_from_one_query(odd_plan, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    qs = plan_values_visible(cycle=odd_plan, user=admin_user)
    page = PlanValuePage(qs)
    assert page.counts_in_one_query()
    with CaptureQueriesContext(connection) as queries:
        rows, count = page.rows_and_count(5, 12)
    assert len(queries.captured_queries) == 1
    assert rows == page[5:12] and count == qs.count()
    assert page.rows_and_count(10_000, 10_010) == ([], None)
    assert not PlanValuePage(qs.distinct()).counts_in_one_query()


@pytest.mark.parametrize(
    "query, status",
    [
        ("page=2&page_size=7", 200),
        ("page=last&page_size=7", 200),
        ("page=999", 404),
        ("page=0", 404),
        ("page=x", 404),
        ("page=2.0&page_size=7", 404),
        ("page_size=7&measure=demand", 200),
        ("page=1&value_stream=NOPE", 200),
        ("page=2&value_stream=NOPE", 404),
        ("page_size=5&ordering=-version", 200),
    ],
)
def test_pages_answer_as_django_paginator_does(client_for, admin_user, odd_plan, query, status):
    """Every page answers exactly as DRF's paginator over the serializer would: the
    fast path where a page has rows, Django's own elsewhere (empty, out of range, odd)."""
    from rest_framework.test import APIRequestFactory

    from sofp.api.pagination import ApiPagination

    api = client_for(admin_user)
    response = api.get(f"{C}/plan-values/?{query}")
    assert response.status_code == status, response.content[:300]
    if status != 200:
        return
    body = response.json()
    # The same page through DRF's own paginator and the serializer.
    from planning.api.filters import PlanValueFilter

    request = APIRequestFactory().get(f"{C}/plan-values/?{query}")
    from rest_framework.request import Request

    drf_request = Request(request)
    qs = PlanValueFilter(
        drf_request.query_params, queryset=plan_values_visible(cycle=odd_plan, user=admin_user)
    ).qs
    paginator = ApiPagination()
    rows = paginator.paginate_queryset(qs, drf_request)
    assert body["count"] == paginator.page.paginator.count
    assert body["results"] == [dict(r) for r in PlanValueSerializer(rows, many=True).data]
    assert (body["next"] is None) == (not paginator.page.has_next())


# --- The common page (the plan, no filter) from a query compiled once -------------------


@pytest.fixture
def readers(stream_a, planner_a, manager_a, executive, finance_user, sales_user, admin_user):
    from tests.factories import UserFactory

    return {
        "admin": admin_user,
        "executive": executive,
        "finance": finance_user,
        "sales": sales_user,
        "planner": planner_a,
        "manager": manager_a,
        "no stream": UserFactory(username="nobody_pv"),
    }


@pytest.mark.parametrize(
    "role", ["admin", "executive", "finance", "sales", "planner", "manager", "no stream"]
)
@pytest.mark.parametrize("include_cleared", [False, True])
def test_the_prepared_page_equals_the_querysets_page(odd_plan, readers, role, include_cleared):
    """Rows and count of every page bound, for every kind of reader, equal the queryset
    path's (``PlanValuePage`` over ``plan_values_visible``), key order included; the
    compiled query is run again for another cycle and another user of the same kind."""
    from planning.api.plan_value_pages import PreparedPlanValuePage

    user = readers[role]
    visible = plan_values_visible(cycle=odd_plan, user=user, include_cleared=include_cleared)
    assert PlanValuePage(visible).counts_in_one_query()
    total = visible.count()
    fast = PreparedPlanValuePage(cycle=odd_plan, user=user, include_cleared=include_cleared)
    slow = PlanValuePage(visible)
    for start, stop in [(0, 7), (7, 14), (0, 100), (total - 3, total + 4), (10_000, 10_010)]:
        start = max(start, 0)
        rows, count = fast.rows_and_count(start, stop)
        expected_rows, expected_count = slow.rows_and_count(start, stop)
        assert (rows, count) == (expected_rows, expected_count)
        assert [list(r) for r in rows] == [list(r) for r in expected_rows]
    assert fast.count() == total
    assert fast[2:5] == slow[2:5]
    # Another cycle with nothing in it, through the same compiled query.
    from tests.factories import CycleFactory

    other = CycleFactory(month=dt.date(2027, 2, 1))
    empty = PreparedPlanValuePage(cycle=other, user=user, include_cleared=include_cleared)
    assert empty.rows_and_count(0, 7) == ([], None)


def test_the_prepared_page_sees_what_the_user_sees(odd_plan, readers, stream_a):
    """Two members of different streams through the one compiled member query: each
    gets only their own stream's rows (and the company rows only company readers)."""
    from planning.api.plan_value_pages import PreparedPlanValuePage
    from tests.factories import MembershipFactory, UserFactory
    from valuestreams.models import ValueStream

    planner_b = UserFactory(username="planner_b_pv")
    MembershipFactory(user=planner_b, value_stream=ValueStream.objects.get(code="B"))
    for user, role in [(readers["planner"], "A"), (planner_b, "B")]:
        rows, _count = PreparedPlanValuePage(
            cycle=odd_plan, user=user, include_cleared=False
        ).rows_and_count(0, 1000)
        visible = plan_values_visible(cycle=odd_plan, user=user)
        assert {r["value_stream"] for r in rows} == set(
            visible.values_list("value_stream__code", flat=True)
        )
        assert {r["value_stream"] for r in rows} == {role}
    rows, _count = PreparedPlanValuePage(
        cycle=odd_plan, user=readers["executive"], include_cleared=False
    ).rows_and_count(0, 1000)
    assert "" in {r["value_stream"] for r in rows}


@pytest.mark.parametrize("role", ["admin", "executive", "planner", "no stream"])
@pytest.mark.parametrize(
    "query",
    ["", "page=2&page_size=7", "page=last&page_size=7", "page=999", "page=x", "page_size=5000"],
)
def test_api_bodies_are_byte_for_byte_the_queryset_paths(
    client_for, odd_plan, readers, role, query, monkeypatch
):
    """The whole answer (status, body, ETag, Vary) of the fast page is the one the
    queryset path gives for the same request."""
    from planning.api import views

    api = client_for(readers[role])
    url = f"{C}/plan-values/?{query}"
    fast = api.get(url)

    def queryset_page(*, cycle, user, include_cleared):
        return PlanValuePage(
            plan_values_visible(cycle=cycle, user=user, include_cleared=include_cleared)
        )

    monkeypatch.setattr(views, "PreparedPlanValuePage", queryset_page)
    slow = api.get(url)
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content
    for header in ("ETag", "Vary", "Content-Type", "Cache-Control"):
        assert fast.get(header) == slow.get(header)
    if role != "no stream" and fast.status_code == 200:
        assert fast.json()["results"]


def test_the_fast_page_queries(client_for, odd_plan, admin_user):
    """Token with its user, the cycle, the page with its count: three queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = client_for(admin_user)
    api.get(f"{C}/plan-values/?page=2&page_size=7")
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"{C}/plan-values/?page=2&page_size=7")
    assert response.status_code == 200
    assert len(queries.captured_queries) == 3, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2027, 1, 5, 8, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 5, 8, 0, 0, 7, tzinfo=dt.UTC),
        dt.datetime(2027, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(999, 1, 1, 0, 0, 0, 100000, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    ],
)
def test_postgresqls_timestamp_text_reads_as_utc_text(moment):
    """The text PostgreSQL writes for ``_TimestampAsText`` becomes what ``utc_text``
    writes for the moment (fraction dropped when zero, ``Z``)."""
    from types import SimpleNamespace

    from planning.api.plan_value_pages import _row_dicts
    from planning.api.serializers import utc_text

    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00"
    if moment.year < 1000:
        text = text.zfill(32)
    row = ("A", "A-1", "2027-01-01", "demand", Decimal("1"), 1, "", text, None)
    for zone in (dt.UTC, None):
        (got,) = _row_dicts([row], lambda v: v, SimpleNamespace(timezone=zone))
        assert got["updated_at"] == utc_text(moment)
