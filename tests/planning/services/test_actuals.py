"""Actuals kept once per month: the write service, its rights, the migration from plan
values, and accuracy reading the store."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from planning.models import Actual, ActualChange, CycleStatus, PlanValue
from planning.selectors.actuals import current_month
from planning.selectors.plans import accuracy_inputs
from planning.services.actuals import ActualInput, actuals_upsert
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import PermissionDenied, ValidationFailed, VersionConflict
from tests.factories import CycleFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 1)
OCT = dt.date(2026, 10, 1)
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def cell(measure="actual_sales", value="10", family="A-1", stream="A", month=OCT, **kw):
    return ActualInput(
        stream, family, month, measure, None if value is None else Decimal(value), **kw
    )


def test_current_month_is_the_company_month(company):
    # 23:30 UTC on 31 Oct is already 1 Nov in Amsterdam.
    assert current_month(dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)) == NOV


def test_upsert_adds_changes_deletes_with_versions_and_history(family_a, planner_a):
    r = actuals_upsert(cells=[cell(), cell("headcount", "12", family="")], user=planner_a, now=NOW)
    assert r.as_dict() == {"added": 2, "changed": 0, "unchanged": 0, "deleted": 0}
    a = Actual.objects.get(measure="actual_sales")
    assert (a.value, a.version, a.updated_by) == (Decimal("10"), 1, planner_a)
    # the same again: nothing changes (re-import is a no-op)
    r = actuals_upsert(cells=[cell()], user=planner_a, now=NOW)
    assert (r.unchanged, r.touched) == (1, 0)
    r = actuals_upsert(cells=[cell(value="12.5", version=1)], user=planner_a, check_versions=True)
    a.refresh_from_db()
    assert (a.value, a.version, r.changed) == (Decimal("12.5"), 2, 1)
    with pytest.raises(VersionConflict) as exc:
        actuals_upsert(cells=[cell(value="13", version=1)], user=planner_a, check_versions=True)
    assert exc.value.conflicts[0]["current_version"] == 2
    r = actuals_upsert(cells=[cell(value=None)], user=planner_a, now=NOW)
    assert r.deleted == 1 and not Actual.objects.filter(measure="actual_sales").exists()
    history = list(
        ActualChange.objects.filter(measure="actual_sales")
        .order_by("pk")
        .values_list("old_value", "new_value", "version")
    )
    assert history == [
        (None, Decimal("10"), 1),
        (Decimal("10"), Decimal("12.5"), 2),
        (Decimal("12.5"), None, 3),
    ]


def test_every_problem_is_listed_and_nothing_written(family_a, family_b):
    cells = [
        cell(month=dt.date(2026, 12, 1)),  # not started
        cell("bogus"),
        cell("headcount", "3"),  # family given for a stream measure
        cell(value="-1"),
        cell(family="B-1"),  # B-1 is in stream B
        cell("actual_production", family=""),
        cell(stream="NOPE", family="", measure="headcount"),
        cell(line=9, column="value"),
        cell(line=10),  # duplicate of line 9
    ]
    with pytest.raises(ValidationFailed) as exc:
        actuals_upsert(cells=cells, user=None, now=NOW)
    codes = [(p.index, p.line, p.code) for p in exc.value.problems]
    assert codes == [
        (0, None, "future_month"),
        (1, None, "unknown_measure"),
        (2, None, "takes_no_product_family"),
        (3, None, "negative"),
        (4, None, "family_in_other_stream"),
        (5, None, "needs_product_family"),
        (6, None, "unknown_value_stream"),
        (None, 10, "duplicate"),
    ]
    assert not Actual.objects.exists()


def test_rights_follow_the_table(family_a, stream_b, sales_user, finance_user, planner_a):
    # sales: actual sales and order actuals; not production or hours
    actuals_upsert(cells=[cell(), cell("orders_shipped", "5", family="")], user=sales_user, now=NOW)
    with pytest.raises(PermissionDenied):
        actuals_upsert(cells=[cell("actual_production")], user=sales_user, now=NOW)
    # finance: actual conversion cost of every stream, nothing else
    actuals_upsert(
        cells=[cell("actual_conversion_cost", "900", family="")], user=finance_user, now=NOW
    )
    with pytest.raises(PermissionDenied):
        actuals_upsert(cells=[cell("headcount", "3", family="")], user=finance_user, now=NOW)
    # a planner: its stream's operational actuals, not another stream's, not costs
    actuals_upsert(
        cells=[cell("actual_production", "8"), cell("dock_to_dock_days", "4", family="")],
        user=planner_a,
        now=NOW,
    )
    with pytest.raises(PermissionDenied):
        actuals_upsert(
            cells=[cell("headcount", "3", family="", stream="B")], user=planner_a, now=NOW
        )
    with pytest.raises(PermissionDenied):
        actuals_upsert(
            cells=[cell("actual_conversion_cost", "1", family="")], user=planner_a, now=NOW
        )
    executive = UserFactory(username="ex", roles=["executive"])
    with pytest.raises(PermissionDenied):
        actuals_upsert(cells=[cell()], user=executive, now=NOW)
    # sales assigned to stream B only may not enter A's
    assigned = UserFactory(username="sales_b", roles=["sales"])
    MembershipFactory(user=assigned, value_stream=stream_b)
    with pytest.raises(PermissionDenied):
        actuals_upsert(cells=[cell(value="11")], user=assigned, now=NOW)


def test_database_refuses_what_validation_refuses(family_a, stream_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Actual.objects.create(
            value_stream=stream_a,
            product_family=family_a,
            month=OCT,
            measure="actual_sales",
            value=Decimal(-1),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Actual.objects.create(
            value_stream=stream_a, month=OCT, measure="actual_sales", value=Decimal(1)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Actual.objects.create(
            value_stream=stream_a, month=dt.date(2026, 10, 2), measure="headcount", value=1
        )
    Actual.objects.create(value_stream=stream_a, month=OCT, measure="headcount", value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Actual.objects.create(value_stream=stream_a, month=OCT, measure="headcount", value=2)


def test_plan_writes_of_actual_sales_reach_the_store(family_a, planner_a):
    cyc = CycleFactory(month=NOV)
    plan_values_upsert(
        cycle=cyc,
        cells=[CellInput("A", "A-1", OCT, "actual_sales", Decimal("40"))],
        user=planner_a,
    )
    assert Actual.objects.get(measure="actual_sales", month=OCT).value == Decimal("40")
    plan_values_upsert(
        cycle=cyc, cells=[CellInput("A", "A-1", OCT, "actual_sales", None)], user=planner_a
    )
    assert not Actual.objects.exists()


def test_plan_and_actual_writes_share_one_precision_and_one_limit(family_a, planner_a):
    cyc = CycleFactory(month=NOV)
    plan_values_upsert(
        cycle=cyc,
        cells=[CellInput("A", "A-1", NOV, "demand", Decimal("1.23456749"))],
        user=planner_a,
    )
    actuals_upsert(cells=[cell(value="1.23456749")], user=planner_a, now=NOW)
    assert PlanValue.objects.get(measure="demand").value == Decimal("1.234567")
    assert Actual.objects.get(measure="actual_sales").value == Decimal("1.234567")
    big = Decimal("1e13")
    with pytest.raises(ValidationFailed) as plan_exc:
        plan_values_upsert(
            cycle=cyc, cells=[CellInput("A", "A-1", NOV, "demand", big)], user=planner_a
        )
    with pytest.raises(ValidationFailed) as actual_exc:
        actuals_upsert(cells=[cell(value=str(big))], user=planner_a, now=NOW)
    assert [p.code for p in plan_exc.value.problems] == ["too_large"]
    assert [p.code for p in actual_exc.value.problems] == ["too_large"]


def test_migration_copies_actual_sales_newest_cycle_wins_and_reverses(family_a, stream_a):
    migration = importlib.import_module("planning.migrations.0010_actual_sales_to_actuals")
    old = CycleFactory(month=dt.date(2026, 10, 1))
    new = CycleFactory(month=NOV)
    for cyc, value in ((old, 5), (new, 7)):
        PlanValue.objects.create(
            cycle=cyc,
            value_stream=stream_a,
            product_family=family_a,
            month=OCT,
            measure="actual_sales",
            value=Decimal(value),
        )
    Actual.objects.all().delete()
    migration.forward(apps, None)
    assert list(Actual.objects.values_list("month", "value")) == [(OCT, Decimal(7))]
    migration.forward(apps, None)  # again: nothing doubles
    assert Actual.objects.count() == 1 and ActualChange.objects.count() == 1
    migration.backward(apps, None)
    assert not Actual.objects.exists() and PlanValue.objects.count() == 2


def test_accuracy_reads_the_store_not_the_plan(family_a, stream_a):
    frozen = CycleFactory(month=OCT, status=CycleStatus.APPROVED, approved_at=NOW)
    current = CycleFactory(month=dt.date(2026, 12, 1))
    PlanValue.objects.create(
        cycle=frozen,
        value_stream=stream_a,
        product_family=family_a,
        month=NOV,
        measure="demand",
        value=Decimal(80),
    )
    # A plan value that is not a fact (bulk written, no store row) is not read.
    PlanValue.objects.create(
        cycle=current,
        value_stream=stream_a,
        product_family=family_a,
        month=NOV,
        measure="actual_sales",
        value=Decimal(999),
    )
    actuals_upsert(cells=[cell(month=NOV, value="100")], user=None, now=NOW)
    forecasts, actuals = accuracy_inputs(cycle=current)
    assert list(actuals["actual"]) == [100.0] and list(forecasts["forecast"]) == [80.0]
