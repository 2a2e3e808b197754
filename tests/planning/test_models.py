import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from planning.models import CycleStep, PlanningCycle, PlanValue
from tests.factories import CycleFactory, PlanValueFactory

pytestmark = pytest.mark.django_db


def _raises_integrity(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_plan_value_refuses_negative_quantity(family_a, cycle):
    _raises_integrity(lambda: PlanValueFactory(cycle=cycle, product_family=family_a, value=-1))


def test_plan_value_refuses_duplicate_family_cell(family_a, cycle):
    PlanValueFactory(cycle=cycle, product_family=family_a)
    _raises_integrity(lambda: PlanValueFactory(cycle=cycle, product_family=family_a))


def test_plan_value_refuses_duplicate_stream_cell(stream_a, cycle):
    def make():
        PlanValue.objects.create(
            cycle=cycle,
            value_stream=stream_a,
            month=cycle.month,
            measure="available_hours",
            value=Decimal("1"),
        )

    make()
    _raises_integrity(make)


def test_plan_value_refuses_duplicate_company_cell_despite_null_codes(cycle):
    def make():
        PlanValue.objects.create(
            cycle=cycle, month=cycle.month, measure="sustaining_cost", value=Decimal("5")
        )

    make()
    _raises_integrity(make)


def test_plan_value_scope_must_match_measure(stream_a, family_a, cycle):
    # A family measure without a family, and a company measure with a stream.
    _raises_integrity(
        lambda: PlanValue.objects.create(
            cycle=cycle, value_stream=stream_a, month=cycle.month, measure="demand", value=1
        )
    )
    _raises_integrity(
        lambda: PlanValue.objects.create(
            cycle=cycle,
            value_stream=stream_a,
            month=cycle.month,
            measure="sustaining_cost",
            value=1,
        )
    )


def test_plan_value_month_is_a_first_day(family_a, cycle):
    _raises_integrity(
        lambda: PlanValueFactory(cycle=cycle, product_family=family_a, month=dt.date(2027, 1, 15))
    )


def test_plan_value_month_check_runs_in_the_database(family_a, cycle):
    """The first-day check is evaluated by the database itself (on SQLite, Django's
    ``month__day`` would call a Python function for each inserted row), and model
    validation reads the same rule."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE name = %s", [PlanValue._meta.db_table]
            )
            table_sql = cursor.fetchone()[0]
        assert "planvalue_month_first_day" in table_sql
        assert "django_date_extract" not in table_sql
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
                ["planvalue_month_first_day"],
            )
            assert "EXTRACT" in cursor.fetchone()[0].upper()
    cell = PlanValue(
        cycle=cycle,
        value_stream=family_a.value_stream,
        product_family=family_a,
        month=dt.date(2027, 3, 15),
        measure="demand",
        value=Decimal("1"),
    )
    with pytest.raises(ValidationError):
        cell.validate_constraints()
    cell.month = dt.date(2027, 3, 1)
    cell.validate_constraints()
    cell.save()
    assert PlanValue.objects.filter(pk=cell.pk, month=dt.date(2027, 3, 1)).exists()


def test_cycle_month_unique_and_horizon_in_range(db):
    PlanningCycle.objects.create(month=dt.date(2030, 1, 1), horizon=18)
    _raises_integrity(lambda: PlanningCycle.objects.create(month=dt.date(2030, 1, 1)))
    _raises_integrity(lambda: PlanningCycle.objects.create(month=dt.date(2030, 2, 1), horizon=2))
    _raises_integrity(lambda: PlanningCycle.objects.create(month=dt.date(2030, 3, 1), horizon=37))


def test_step_number_outside_one_to_five_is_refused(cycle):
    step = cycle.steps.get(number=5)
    _raises_integrity(
        lambda: CycleStep.objects.create(
            cycle=cycle,
            number=6,
            name="x",
            owner_role="executive",
            meeting_start=step.meeting_start,
            meeting_end=step.meeting_end,
            input_deadline=step.input_deadline,
        )
    )


def test_cycle_create_schedules_five_steps_on_working_days(db):
    cycle = CycleFactory(month=dt.date(2027, 5, 1))  # May 1 2027 is a Saturday
    steps = list(cycle.steps.order_by("number"))
    assert [s.number for s in steps] == [1, 2, 3, 4, 5]
    days = [s.meeting_start.astimezone(dt.UTC).date() for s in steps]
    assert days == [dt.date(2027, 5, d) for d in (3, 4, 5, 6, 7)]
    assert all(s.input_deadline < s.meeting_start for s in steps)
