"""``DayOfMonth`` is the database's own day of a date, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import DateField, Value

from planning.models import PlanningCycle
from sofp.dbfunctions import DayOfMonth
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db


def test_day_of_month_in_a_query():
    CycleFactory(month=dt.date(2027, 1, 1))
    day = PlanningCycle.objects.annotate(day=DayOfMonth("month")).values_list("day", flat=True)
    assert list(day) == [1]
    mid = Value(dt.date(2027, 3, 15), output_field=DateField())
    assert (
        PlanningCycle.objects.annotate(day=DayOfMonth(mid)).values_list("day", flat=True)[0] == 15
    )
