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
