"""The frame's and the API's cycle reads, compiled once, equal the selectors they stand
for: ``cycle_current`` and ``cycle_get_by_label``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from planning.models import PlanningCycle
from planning.selectors import navigation, plans
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db


def _fields(cycle):
    if cycle is None:
        return None
    return {f.attname: getattr(cycle, f.attname) for f in cycle._meta.concrete_fields}


def _same_current():
    expected = plans.cycle_current()
    got = navigation.cycle_current()
    assert _fields(got) == _fields(expected)
    assert type(got) is type(expected)
    return got


def _freeze(cycle):
    PlanningCycle.objects.filter(pk=cycle.pk).update(status="approved", approved_at=timezone.now())


def test_cycle_current_in_every_state():
    assert _same_current() is None  # no cycle at all
    january = CycleFactory(month=dt.date(2027, 1, 1))
    assert _same_current().pk == january.pk
    february = CycleFactory(month=dt.date(2027, 2, 1))
    assert _same_current().pk == february.pk  # the newest open one
    _freeze(february)
    assert _same_current().pk == january.pk  # not a frozen one while an older is open
    _freeze(january)
    assert _same_current().pk == february.pk  # all frozen: the newest
    PlanningCycle.objects.filter(pk=january.pk).update(status="in_progress", approved_at=None)
    assert _same_current().pk == january.pk


@pytest.mark.parametrize(
    "label", ["2027-01", "2027-02", "2026-12", "2027-1", "2027-13", "x", "", "2027-01-01"]
)
def test_cycle_by_label_is_cycle_get_by_label(label):
    CycleFactory(month=dt.date(2027, 1, 1))
    CycleFactory(month=dt.date(2027, 2, 1))
    expected = plans.cycle_get_by_label(label)
    got = navigation.cycle_by_label(label)
    assert _fields(got) == _fields(expected)
    if expected is not None:
        assert got.label == label


def test_one_query_each():
    CycleFactory(month=dt.date(2027, 1, 1))
    navigation.cycle_by_label("2027-01")
    with CaptureQueriesContext(connection) as queries:
        navigation.cycle_by_label("2027-01")
        navigation.cycle_current()
    assert len(queries.captured_queries) == 2
