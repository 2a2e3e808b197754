"""Two saves of the same cell at once (PostgreSQL row locks), through the short writes of
a few cells: the second waits for the first and then sees its version — a conflict,
never a silent overwrite. Of two saves creating the same new cell, one creates it; the
other gets a conflict, or, carrying no versions, writes after it as if it had waited."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from planning.models import PlanValue, PlanValueChange
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import VersionConflict
from tests.factories import CycleFactory

pytestmark = [pytest.mark.postgres]
MONTH = dt.date(2027, 1, 1)


def _cell(value: str, version: int | None) -> CellInput:
    return CellInput("A", "A-1", MONTH, "demand", Decimal(value), version)


def _held_save(cycle, cell, started: threading.Event, release: threading.Event, out: list):
    """A save that keeps its transaction (and its locks) open until released."""
    try:
        with transaction.atomic():
            out.append(
                plan_values_upsert(cycle=cycle, cells=[cell], user=None, check_versions=True)
            )
            started.set()
            release.wait(30)
    except Exception as exc:  # the test reads it
        out.append(exc)
        started.set()
    finally:
        connection.close()


def _save(cycle, cell, out: list, check_versions: bool) -> None:
    try:
        out.append(
            plan_values_upsert(cycle=cycle, cells=[cell], user=None, check_versions=check_versions)
        )
    except Exception as exc:  # the test reads it
        out.append(exc)
    finally:
        connection.close()


def _race(cycle, first: CellInput, second: CellInput, *, check_versions: bool = True):
    """``first`` saved and held open; ``second`` saved meanwhile (it must wait), then
    ``first`` committed. Returns what each save gave."""
    started, release = threading.Event(), threading.Event()
    held, other = [], []
    a = threading.Thread(target=_held_save, args=(cycle, first, started, release, held))
    a.start()
    try:
        assert started.wait(10), "the first save never ran"
        b = threading.Thread(target=_save, args=(cycle, second, other, check_versions))
        b.start()
        time.sleep(0.5)
        assert b.is_alive() and not other, "the second save did not wait for the first"
    finally:
        release.set()
        a.join(30)
    b.join(30)
    return held[0], other[0]


@pytest.mark.django_db(transaction=True)
def test_a_save_waits_for_the_cell_then_sees_the_new_version(postgres_only, family_a):
    cycle = CycleFactory(month=MONTH, status="in_progress")
    plan_values_upsert(cycle=cycle, cells=[_cell("10", None)], user=None)
    first, second = _race(cycle, _cell("11", 1), _cell("12", 1))
    assert first.changed == 1
    assert isinstance(second, VersionConflict)
    assert second.conflicts[0]["current_version"] == 2
    pv = PlanValue.objects.get(cycle=cycle)
    assert (pv.value, pv.version) == (Decimal("11"), 2)
    assert PlanValueChange.objects.filter(cycle=cycle).count() == 2


@pytest.mark.django_db(transaction=True)
def test_of_two_saves_creating_a_cell_one_creates_it(postgres_only, family_a):
    cycle = CycleFactory(month=MONTH, status="in_progress")
    first, second = _race(cycle, _cell("5", 0), _cell("6", 0))
    assert first.added == 1
    assert isinstance(second, VersionConflict)
    pv = PlanValue.objects.get(cycle=cycle)
    assert (pv.value, pv.version) == (Decimal("5"), 1)
    assert PlanValueChange.objects.filter(cycle=cycle).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_save_without_versions_writes_after_the_one_that_created_the_cell(
    postgres_only, family_a
):
    cycle = CycleFactory(month=MONTH, status="in_progress")
    first, second = _race(cycle, _cell("5", 0), _cell("6", None), check_versions=False)
    assert first.added == 1 and second.changed == 1
    pv = PlanValue.objects.get(cycle=cycle)
    assert (pv.value, pv.version) == (Decimal("6"), 2)
    history = PlanValueChange.objects.filter(cycle=cycle).order_by("pk")
    assert [(h.old_value, h.new_value, h.version) for h in history] == [
        (None, Decimal("5"), 1),
        (Decimal("5"), Decimal("6"), 2),
    ]
