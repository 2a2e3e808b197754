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
