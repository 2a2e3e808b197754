"""A cell's and a history row's cycle, stream and family stay real references
(migration 0021).

On PostgreSQL those six foreign keys became triggers that check each statement's rows
at once (issue 21: an import's tens of thousands of per-row checks); on SQLite they are
foreign keys still. Either way a cell or history row naming a row that does not exist is
refused, whichever way it is written (one row, COPY, an update), and so is deleting (or
renumbering) a row that a cell or history names — unless Django's ``on_delete`` deals
with them first, as it always did.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction

from planning.models import CycleFamily, PlanningCycle, PlanValue, PlanValueChange
from planning.services.plan_values import _CELL_FIELDS, _CHANGE_FIELDS, _insert
from tests.factories import CycleFactory, ProductFamilyFactory, ValueStreamFactory
from valuestreams.models import ProductFamily, ValueStream

CELLS = PlanValue._meta.db_table
HISTORY = PlanValueChange._meta.db_table
M = dt.date(2027, 1, 1)
MODELS = {"cycle": PlanningCycle, "stream": ValueStream, "family": ProductFamily}
COLUMNS = {"cycle": "cycle_id", "stream": "value_stream_id", "family": "product_family_id"}


def history(cycle_id, stream_id=None, family_id=None, *, cell=None) -> PlanValueChange:
    return PlanValueChange.all_objects.create(
        cycle_id=cycle_id,
        value_stream_id=stream_id,
        product_family_id=family_id,
        plan_value=cell,
        month=M,
        measure="demand" if family_id else "available_hours",
        new_value=Decimal("1"),
        version=1,
        source=PlanValueChange.Source.IMPORT,
    )


def cell(cycle_id, stream_id, family_id, *, month=M) -> PlanValue:
    return PlanValue.objects.create(
        cycle_id=cycle_id,
        value_stream_id=stream_id,
        product_family_id=family_id,
        month=month,
        measure="demand",
        value=Decimal("1"),
    )


def bulk_history(rows: list[tuple]) -> None:
    """History rows through the bulk path (COPY on PostgreSQL), as an import writes them."""
    _insert(
        PlanValueChange,
        _CHANGE_FIELDS,
        [
            (cycle_id, None, vs, pf, M, "demand", None, "1", 1, "import", None, M, None, "")
            for cycle_id, vs, pf in rows
        ],
    )


def bulk_cells(rows: list[tuple]) -> None:
    """Cells through the bulk path (COPY on PostgreSQL), each of another month from 2028."""
    _insert(
        PlanValue,
        _CELL_FIELDS,
        [
            (
                cycle_id,
                vs,
                pf,
                dt.date(2028 + i // 12, i % 12 + 1, 1),
                "demand",
                "1",
                1,
                "",
                None,
                M,
            )
            for i, (cycle_id, vs, pf) in enumerate(rows)
        ],
    )


def missing(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def refused(action, table: str) -> None:
    """``action`` is refused for ``table``'s sake: at once on PostgreSQL (the triggers),
    at the deferred check of that table's keys on SQLite."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        action()
        connection.check_constraints(table_names=[table])
    if connection.vendor == "postgresql":
        assert table in str(caught.value)


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def family(db):
    return ProductFamilyFactory(code="F-1", value_stream=ValueStreamFactory(code="S"))


@pytest.mark.django_db
def test_rows_naming_existing_parents_are_written(family):
    cycle = CycleFactory(month=M)
    stored = cell(cycle.pk, family.value_stream_id, family.pk)
    bulk_cells([(cycle.pk, family.value_stream_id, family.pk)] * 12)
    history(cycle.pk, family.value_stream_id, family.pk, cell=stored)
    history(cycle.pk, family.value_stream_id)
    bulk_history([(cycle.pk, family.value_stream_id, family.pk)] * 50 + [(cycle.pk, None, None)])
    PlanValue.objects.filter(pk=stored.pk).update(value=Decimal("2"), version=2)
    connection.check_constraints(table_names=[CELLS, HISTORY])
    assert PlanValue.objects.filter(cycle=cycle).count() == 13
    assert PlanValueChange.all_objects.filter(cycle=cycle).count() == 53


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["cycle", "stream", "family"])
def test_a_history_row_naming_a_missing_parent_is_refused(family, bad):
    cycle = CycleFactory(month=M)
    ids = {"cycle": cycle.pk, "stream": family.value_stream_id, "family": family.pk}
    ids[bad] = missing(MODELS[bad])
    good = history(cycle.pk, family.value_stream_id, family.pk)
    refused(lambda: history(*ids.values()), HISTORY)
    # the same row among good ones, through the bulk path (COPY)
    many = [(cycle.pk, family.value_stream_id, family.pk)] * 10
    refused(lambda: bulk_history([*many, tuple(ids.values())]), HISTORY)
    # an update that points a row elsewhere
    to = {COLUMNS[bad]: ids[bad]}
    refused(lambda: PlanValueChange.all_objects.filter(pk=good.pk).update(**to), HISTORY)
    # a row naming its cell is checked the same way
    stored = cell(cycle.pk, family.value_stream_id, family.pk)
    refused(lambda: history(*ids.values(), cell=stored), HISTORY)
    assert list(PlanValueChange.all_objects.values_list("pk", flat=True)) == [good.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["cycle", "stream", "family"])
def test_a_cell_naming_a_missing_parent_is_refused(family, bad):
    cycle = CycleFactory(month=M)
    ids = {"cycle": cycle.pk, "stream": family.value_stream_id, "family": family.pk}
    ids[bad] = missing(MODELS[bad])
    good = cell(cycle.pk, family.value_stream_id, family.pk)
    refused(lambda: cell(*ids.values(), month=dt.date(2027, 2, 1)), CELLS)
    many = [(cycle.pk, family.value_stream_id, family.pk)] * 10
    refused(lambda: bulk_cells([*many, tuple(ids.values())]), CELLS)
    to = {COLUMNS[bad]: ids[bad]}
    refused(lambda: PlanValue.objects.filter(pk=good.pk).update(**to), CELLS)
    assert list(PlanValue.objects.values_list("pk", flat=True)) == [good.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["cycle", "stream", "family"])
def test_one_missing_parent_among_many_is_named(family, bad):
    """A statement naming several cycles, streams and families (and no family) is
    checked as a whole (migration 0022 gathers them in one pass): the one missing id is
    refused, and on PostgreSQL named with its column, as a foreign key names it."""
    other = ProductFamilyFactory(code="F-2", value_stream=ValueStreamFactory(code="S2"))
    cycles = [CycleFactory(month=M).pk, CycleFactory(month=dt.date(2027, 2, 1)).pk]
    rows = [(cycle_id, f.value_stream_id, f.pk) for cycle_id in cycles for f in (family, other)] * 5
    # history also of a stream and of the company (a cell's measure would not fit them)
    scoped = [(cycles[0], family.value_stream_id, None), (cycles[1], None, None)]
    ids = {"cycle": cycles[1], "stream": other.value_stream_id, "family": other.pk}
    ids[bad] = gone = missing(MODELS[bad])
    for write, table, good in ((bulk_history, HISTORY, rows + scoped), (bulk_cells, CELLS, rows)):
        with pytest.raises(IntegrityError) as caught, transaction.atomic():
            write([*good[:7], tuple(ids.values()), *good[7:]])
            connection.check_constraints(table_names=[table])
        if connection.vendor == "postgresql":
            assert f"({COLUMNS[bad]})=({gone})" in str(caught.value.__cause__.diag.message_detail)
        write(good)  # the same rows without the missing one
    connection.check_constraints(table_names=[CELLS, HISTORY])
    assert PlanValueChange.all_objects.count() == len(rows) + len(scoped)
    assert PlanValue.objects.count() == len(rows)


@pytest.mark.django_db
@pytest.mark.parametrize("child", [CELLS, HISTORY])
def test_deleting_or_renumbering_a_row_that_a_cell_or_history_names_is_refused(child):
    """Raw SQL, as no Django path does it: the database itself keeps the reference."""
    cycle = CycleFactory(month=M)
    alone = ValueStreamFactory(code="ALONE")  # no family: only the company row names it
    family = ProductFamilyFactory(code="F-2", value_stream=ValueStreamFactory(code="T"))
    if child == CELLS:
        PlanValue.objects.create(
            cycle=cycle, value_stream=alone, month=M, measure="available_hours", value=1
        )
        cell(cycle.pk, family.value_stream_id, family.pk)
    else:
        history(cycle.pk, alone.pk)
        history(cycle.pk, family.value_stream_id, family.pk)
    # the cycle's copies of the master data name them too: out of the way first
    CycleFamily.objects.filter(cycle=cycle).delete()
    for model, pk in ((ValueStream, alone.pk), (ProductFamily, family.pk)):
        table, to = model._meta.db_table, missing(model)
        refused(lambda t=table, pk=pk: raw(f"DELETE FROM {t} WHERE id = %s", [pk]), child)
        refused(
            lambda t=table, pk=pk, to=to: raw(f"UPDATE {t} SET id = %s WHERE id = %s", [to, pk]),
            child,
        )
    table, to = PlanningCycle._meta.db_table, missing(PlanningCycle)
    refused(lambda: raw(f"UPDATE {table} SET id = %s WHERE id = %s", [to, cycle.pk]), child)
    if connection.vendor == "postgresql":  # SQLite would first refuse for the cycle's steps
        refused(lambda: raw(f"DELETE FROM {table} WHERE id = %s", [cycle.pk]), child)
    assert PlanValue.objects.count() + PlanValueChange.all_objects.count() == 2


@pytest.mark.django_db
def test_django_on_delete_acts_first(family):
    cycle = CycleFactory(month=M)
    stored = cell(cycle.pk, family.value_stream_id, family.pk)
    history(cycle.pk, family.value_stream_id, family.pk, cell=stored)
    other = ProductFamilyFactory(code="F-3", value_stream=family.value_stream)
    history(cycle.pk, family.value_stream_id, other.pk)  # no cell: deletable family
    CycleFamily.objects.filter(product_family=other).delete()  # the cycle's copy of it
    other.delete()
    assert PlanValueChange.all_objects.filter(product_family_id=other.pk).count() == 0
    assert PlanValueChange.all_objects.count() == 1
    PlanningCycle.objects.filter(pk=cycle.pk).delete()
    assert not PlanValue.objects.exists()
    assert not PlanValueChange.all_objects.exists()
    connection.check_constraints()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
@pytest.mark.django_db
def test_postgresql_checks_by_trigger_not_by_foreign_key():
    kept = {CELLS: {"updated_by_id"}, HISTORY: {"plan_value_id", "scenario_id", "changed_by_id"}}
    for table, columns in kept.items():
        constraints = connection.introspection.get_constraints(connection.cursor(), table)
        assert {c["columns"][0] for c in constraints.values() if c["foreign_key"]} == columns
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = %s::regclass",
                [table],
            )
            assert {name for (name,) in cursor.fetchall()} == {
                f"{table}_parents_insert",
                f"{table}_parents_update",
            }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("child", [CELLS, HISTORY])
def test_written_rows_lock_their_parents_as_a_foreign_key_does(child):
    """While a transaction that wrote a cell or history row is open, another cannot
    delete the stream it names (the lock ``FOR KEY SHARE`` a foreign-key check takes)."""
    stream = ValueStreamFactory(code="LOCKED")
    cycle = CycleFactory(month=M)
    outcome: list[str] = []

    def delete_elsewhere() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SET lock_timeout = '300ms'")
                cursor.execute(
                    f"DELETE FROM {ValueStream._meta.db_table} WHERE id = %s", [stream.pk]
                )
            outcome.append("deleted")
        except OperationalError as exc:  # the lock timeout is the point
            outcome.append(type(exc).__name__)
        finally:
            other.close()

    with transaction.atomic():
        if child == CELLS:
            PlanValue.objects.create(
                cycle=cycle, value_stream=stream, month=M, measure="available_hours", value=1
            )
        else:
            history(cycle.pk, stream.pk)
        thread = threading.Thread(target=delete_elsewhere)
        thread.start()
        thread.join()
    assert outcome == ["OperationalError"]  # lock_timeout: it waited for this transaction
    PlanningCycle.objects.filter(pk=cycle.pk).delete()
