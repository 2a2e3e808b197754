"""cycle_projection reuses a projection only while nothing it is computed from changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from planning.models import PlanValue
from planning.selectors.plans import cycle_projection
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.conftest import M

pytestmark = pytest.mark.django_db


def _revenue(projection, family) -> float:
    """The first month's revenue of the family's stream (the family is alone in it)."""
    st = projection.stream
    rows = st[(st["value_stream"] == family.value_stream.code) & (st["month"] == str(M)[:7])]
    return float(rows["revenue"].iloc[0])


def test_same_inputs_give_the_same_projection_object(plan):
    assert cycle_projection(cycle=plan) is cycle_projection(cycle=plan)


def test_a_write_through_the_service_is_seen_at_once(plan, family_a):
    before = cycle_projection(cycle=plan)
    vs = family_a.value_stream.code
    plan_values_upsert(
        cycle=plan, cells=[CellInput(vs, family_a.code, M, "demand", Decimal("500"))], user=None
    )
    after = cycle_projection(cycle=plan)
    assert after is not before
    assert _revenue(after, family_a) == pytest.approx(500 * float(family_a.unit_price))


def test_a_raw_update_of_a_value_is_seen_too(plan, family_a):
    before = _revenue(cycle_projection(cycle=plan), family_a)
    PlanValue.objects.filter(cycle=plan, product_family=family_a, month=M, measure="demand").update(
        value=Decimal("7")
    )
    after = _revenue(cycle_projection(cycle=plan), family_a)
    assert before != after
    assert after == pytest.approx(7 * float(family_a.unit_price))


def test_a_master_data_change_is_seen(plan, family_a):
    before = _revenue(cycle_projection(cycle=plan), family_a)
    family_a.unit_price = family_a.unit_price * 2
    family_a.save()
    assert _revenue(cycle_projection(cycle=plan), family_a) == pytest.approx(2 * before)


def test_a_cleared_cell_is_seen(plan, family_a):
    vs = family_a.value_stream.code
    cycle_projection(cycle=plan)
    plan_values_upsert(
        cycle=plan, cells=[CellInput(vs, family_a.code, M, "demand", None)], user=None
    )
    assert _revenue(cycle_projection(cycle=plan), family_a) == 0.0


def test_streams_are_part_of_the_key(plan, family_a, family_b):
    only_a = cycle_projection(cycle=plan, value_streams=[family_a.value_stream])
    both = cycle_projection(cycle=plan)
    assert set(only_a.family["product_family"]) == {family_a.code}
    assert set(both.family["product_family"]) == {family_a.code, family_b.code}


def test_an_approved_plan_is_reused_without_reading_anything(
    plan, family_a, django_assert_num_queries
):
    """Approved is final and frozen on every path: the approval stands for the cells,
    the master copy, the streams and the launches, so a reuse costs no query."""
    from django.utils import timezone

    from planning.models import CycleStatus

    plan.status, plan.approved_at = CycleStatus.APPROVED, timezone.now()
    plan.save(update_fields=["status", "approved_at"])
    first = cycle_projection(cycle=plan)
    with django_assert_num_queries(0):
        again = cycle_projection(cycle=plan)
    assert again is first
    assert _revenue(again, family_a) == pytest.approx(100 * float(family_a.unit_price))


def test_an_open_plan_is_not_taken_for_its_approved_self(plan, family_a):
    """The same cycle, open and then approved, never shares an entry."""
    from django.utils import timezone

    from planning.models import CycleStatus

    open_one = cycle_projection(cycle=plan)
    plan.status, plan.approved_at = CycleStatus.APPROVED, timezone.now()
    plan.save(update_fields=["status", "approved_at"])
    assert cycle_projection(cycle=plan) is not open_one
