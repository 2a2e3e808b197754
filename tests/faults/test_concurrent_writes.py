"""Writers of one cycle share its row lock; approval takes it alone (PostgreSQL row locks).

Under load, planners of different streams save at the same moment: one save must not
queue behind another (that queue made every request wait at 200 users), yet an approval
must still wait for the saves in flight so that nothing slips into a frozen plan.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from planning.models import PlanningCycle, PlanValue
from planning.services.plan_values import CellInput, _cycle_locked, plan_values_upsert
from tests.factories import CycleFactory

pytestmark = [pytest.mark.postgres]
MONTH = dt.date(2027, 1, 1)


def _write_in_flight(cycle: PlanningCycle, started: threading.Event, release: threading.Event):
    """A writer holding the cycle's lock in the middle of its transaction."""
    try:
        with transaction.atomic():
            _cycle_locked(cycle)
            started.set()
            release.wait(30)
    finally:
        connection.close()


@pytest.fixture
def write_in_flight():
    threads: list[tuple[threading.Thread, threading.Event]] = []

    def start(cycle: PlanningCycle) -> None:
        started, release = threading.Event(), threading.Event()
        thread = threading.Thread(target=_write_in_flight, args=(cycle, started, release))
        thread.start()
        assert started.wait(10), "the writer never took the lock"
        threads.append((thread, release))

    yield start
    for thread, release in threads:
        release.set()
        thread.join(30)


def _lock_timeout(ms: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {ms}")


@pytest.mark.django_db(transaction=True)
def test_a_save_does_not_wait_for_another_save_of_the_same_cycle(
    postgres_only, family_a, write_in_flight
):
    cycle = CycleFactory(month=MONTH, status="in_progress")
    write_in_flight(cycle)
    _lock_timeout(3000)  # waiting for the other writer would fail the save
    result = plan_values_upsert(
        cycle=cycle,
        cells=[CellInput("A", family_a.code, MONTH, "demand", Decimal("12"))],
        user=None,
    )
    assert result.added == 1
    assert PlanValue.objects.get(cycle=cycle, measure="demand").value == Decimal("12")


@pytest.mark.django_db(transaction=True)
def test_approval_cannot_take_the_cycle_while_a_save_is_in_flight(postgres_only, write_in_flight):
    cycle = CycleFactory(month=MONTH, status="in_progress")
    write_in_flight(cycle)
    with pytest.raises(DatabaseError), transaction.atomic():
        PlanningCycle.objects.select_for_update(nowait=True).get(pk=cycle.pk)


@pytest.mark.django_db(transaction=True)
def test_a_draft_cycle_is_still_written_one_writer_at_a_time(postgres_only, write_in_flight):
    cycle = CycleFactory(month=MONTH)  # a draft: the write updates the cycle's own row
    write_in_flight(cycle)
    with pytest.raises(DatabaseError), transaction.atomic():
        PlanningCycle.objects.select_for_update(nowait=True).get(pk=cycle.pk)
