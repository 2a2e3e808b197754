import datetime as dt
from decimal import Decimal

import pytest

from planning.models import PlanValue, PlanValueChange
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import FrozenCycleError, PermissionDenied, ValidationFailed, VersionConflict

pytestmark = pytest.mark.django_db
JAN = dt.date(2027, 1, 1)


def cell(value, *, family="A-1", stream="A", month=JAN, measure="demand", version=None, line=None):
    v = None if value is None else Decimal(str(value))
    return CellInput(stream, family, month, measure, v, version, line=line)


def test_upsert_adds_changes_and_counts_unchanged(cycle, family_a, planner_a):
    first = plan_values_upsert(cycle=cycle, cells=[cell(10)], user=planner_a)
    assert (first.added, first.changed, first.unchanged) == (1, 0, 0)
    again = plan_values_upsert(
        cycle=cycle, cells=[cell(10), cell(5, measure="production")], user=planner_a
    )
    assert (again.added, again.changed, again.unchanged) == (1, 0, 1)
    changed = plan_values_upsert(cycle=cycle, cells=[cell(12)], user=planner_a)
    assert changed.changed == 1
    pv = PlanValue.objects.get(measure="demand")
    assert pv.value == Decimal("12") and pv.version == 2 and pv.updated_by == planner_a
    history = list(PlanValueChange.objects.filter(plan_value=pv).order_by("changed_at", "pk"))
    assert [(h.old_value, h.new_value) for h in history] == [(None, 10), (10, 12)]


def test_every_bad_cell_is_listed_and_nothing_is_written(cycle, family_a, family_b, planner_a):
    with pytest.raises(ValidationFailed) as exc:
        plan_values_upsert(
            cycle=cycle,
            cells=[
                cell(1, line=2),
                cell(-5, line=3, measure="production"),
                cell(1, family="NOPE", line=4),
                cell(1, month=dt.date(2031, 1, 1), line=5),
                cell(1, family="B-1", line=6),
                cell(2, line=7),
            ],
            user=planner_a,
        )
    text = "\n".join(exc.value.errors)
    assert "line 3: production must not be negative" in text
    assert "line 4: unknown product family 'NOPE'" in text
    assert "line 5: month 2031-01 is outside the horizon" in text
    assert "line 6: product family 'B-1' belongs to value stream 'B'" in text
    assert "line 7: duplicate of line 2" in text
    assert PlanValue.objects.count() == 0


def test_planner_may_not_write_another_stream(cycle, family_b, planner_a):
    with pytest.raises(PermissionDenied, match="not a planner of value stream 'B'"):
        plan_values_upsert(cycle=cycle, cells=[cell(1, family="B-1", stream="B")], user=planner_a)
    assert PlanValue.objects.count() == 0


def test_company_values_need_finance_or_executive(cycle, planner_a, finance_user):
    company = CellInput("", "", JAN, "sustaining_cost", Decimal("100"))
    with pytest.raises(PermissionDenied):
        plan_values_upsert(cycle=cycle, cells=[company], user=planner_a)
    assert plan_values_upsert(cycle=cycle, cells=[company], user=finance_user).added == 1


def test_frozen_cycle_refuses_every_write(cycle, family_a, planner_a):
    cycle.status, cycle.approved_at = "approved", dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    cycle.save()
    with pytest.raises(FrozenCycleError, match="frozen"):
        plan_values_upsert(cycle=cycle, cells=[cell(1)], user=planner_a)


def test_stale_version_is_a_conflict_with_the_current_value(cycle, family_a, planner_a):
    plan_values_upsert(cycle=cycle, cells=[cell(10)], user=planner_a)
    plan_values_upsert(
        cycle=cycle, cells=[cell(11, version=1)], user=planner_a, check_versions=True
    )
    with pytest.raises(VersionConflict) as exc:
        plan_values_upsert(
            cycle=cycle, cells=[cell(99, version=1)], user=planner_a, check_versions=True
        )
    conflict = exc.value.conflicts[0]
    assert conflict["current_value"] == "11.000000" and conflict["current_version"] == 2
    assert conflict["changed_by"] == "planner_a"
    assert PlanValue.objects.get().value == Decimal("11")


def test_empty_cell_version_zero_conflicts_when_someone_created_it(cycle, family_a, planner_a):
    plan_values_upsert(cycle=cycle, cells=[cell(3)], user=planner_a)
    with pytest.raises(VersionConflict):
        plan_values_upsert(
            cycle=cycle, cells=[cell(4, version=0)], user=planner_a, check_versions=True
        )


def test_none_clears_a_cell(cycle, family_a, planner_a):
    plan_values_upsert(cycle=cycle, cells=[cell(3)], user=planner_a)
    result = plan_values_upsert(cycle=cycle, cells=[cell(None)], user=planner_a)
    assert result.deleted == 1 and not PlanValue.objects.filter(PlanValue.filled).exists()
    tombstone = PlanValue.objects.get()
    assert (tombstone.value, tombstone.version) == (None, 2)


def test_versions_never_restart_after_a_clear(cycle, family_a, planner_a):
    """Write v1, clear (v2), write again (v3): a version read before the clear is stale."""
    plan_values_upsert(cycle=cycle, cells=[cell(3)], user=planner_a)
    plan_values_upsert(
        cycle=cycle, cells=[cell(None, version=1)], user=planner_a, check_versions=True
    )
    with pytest.raises(VersionConflict) as info:
        plan_values_upsert(
            cycle=cycle, cells=[cell(5, version=1)], user=planner_a, check_versions=True
        )
    assert info.value.conflicts[0]["current_version"] == 2
    assert info.value.conflicts[0]["current_value"] is None
    result = plan_values_upsert(
        cycle=cycle, cells=[cell(5, version=2)], user=planner_a, check_versions=True
    )
    assert result.added == 1 and result.stored[0].version == 3
    # "It was empty when I read it" (version 0) is true of a cleared cell too.
    plan_values_upsert(
        cycle=cycle, cells=[cell(None, version=3)], user=planner_a, check_versions=True
    )
    result = plan_values_upsert(
        cycle=cycle, cells=[cell(6, version=0)], user=planner_a, check_versions=True
    )
    assert result.stored[0].version == 5
    assert list(
        PlanValueChange.objects.order_by("pk").values_list("version", "old_value", "new_value")
    ) == [
        (1, None, Decimal("3")),
        (2, Decimal("3"), None),
        (3, None, Decimal("5")),
        (4, Decimal("5"), None),
        (5, None, Decimal("6")),
    ]
    # Every change points at its cell, the clears too.
    assert set(PlanValueChange.objects.values_list("plan_value_id", flat=True)) == {
        PlanValue.objects.get().pk
    }


def test_clearing_an_empty_or_cleared_cell_changes_nothing(cycle, family_a, planner_a):
    assert plan_values_upsert(cycle=cycle, cells=[cell(None)], user=planner_a).unchanged == 1
    plan_values_upsert(cycle=cycle, cells=[cell(3)], user=planner_a)
    plan_values_upsert(cycle=cycle, cells=[cell(None)], user=planner_a)
    again = plan_values_upsert(cycle=cycle, cells=[cell(None)], user=planner_a)
    assert (again.unchanged, again.deleted) == (1, 0)
    assert PlanValue.objects.get().version == 2


def test_the_database_allows_null_only_on_a_tombstone(cycle, family_a):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PlanValue.objects.create(
            cycle=cycle,
            value_stream=family_a.value_stream,
            product_family=family_a,
            month=cycle.month,
            measure="demand",
            value=None,
            version=1,
        )


def test_tombstones_are_invisible_to_every_reader(cycle, family_a, planner_a):
    from planning.selectors.plans import cycle_export_frame, plan_values_frame, plan_values_visible

    never_written = cycle_export_frame(cycle=cycle)
    plan_values_upsert(cycle=cycle, cells=[cell(3)], user=planner_a)
    plan_values_upsert(cycle=cycle, cells=[cell(None)], user=planner_a)
    assert len(plan_values_frame(cycle=cycle)) == 0
    assert not plan_values_visible(cycle=cycle, user=planner_a).exists()
    assert plan_values_visible(cycle=cycle, user=planner_a, include_cleared=True).count() == 1
    assert cycle_export_frame(cycle=cycle).equals(never_written)


def test_actual_sales_accepted_for_the_year_before_the_horizon(cycle, family_a, planner_a):
    ok = cell(7, measure="actual_sales", month=dt.date(2026, 1, 1))
    assert plan_values_upsert(cycle=cycle, cells=[ok], user=planner_a).added == 1
    with pytest.raises(ValidationFailed):
        plan_values_upsert(
            cycle=cycle,
            cells=[cell(7, measure="demand", month=dt.date(2026, 12, 1))],
            user=planner_a,
        )
