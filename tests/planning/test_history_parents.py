"""The history's cycle, stream and family stay real references (migration 0021).

On PostgreSQL the three foreign keys became triggers that check each statement's rows
at once (issue 21: an import's tens of thousands of per-row checks); on SQLite they are
foreign keys still. Either way a history row naming a row that does not exist is
refused, and so is deleting (or renumbering) a row that history names — unless Django's
``on_delete=CASCADE`` deletes that history first, as it always did.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction

from planning.models import CycleFamily, PlanningCycle, PlanValue, PlanValueChange
from planning.services.plan_values import _CHANGE_FIELDS, _insert
from tests.factories import CycleFactory, PlanValueFactory, ProductFamilyFactory, ValueStreamFactory
from valuestreams.models import ProductFamily, ValueStream

HISTORY = PlanValueChange._meta.db_table
M = dt.date(2027, 1, 1)


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


def bulk(rows: list[tuple]) -> None:
    """History rows through the bulk path (COPY on PostgreSQL), as an import writes them."""
    _insert(
        PlanValueChange,
        _CHANGE_FIELDS,
        [
            (cycle_id, None, vs, pf, M, "demand", None, "1", 1, "import", None, M, None, "")
            for cycle_id, vs, pf in rows
        ],
    )


def missing(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def refused(action) -> None:
    """``action`` is refused for the history's sake: at once on PostgreSQL (the
    triggers), at the deferred check of the history's keys on SQLite."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        action()
        connection.check_constraints(table_names=[HISTORY])
    if connection.vendor == "postgresql":
        assert HISTORY in str(caught.value)


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def family(db):
    return ProductFamilyFactory(code="F-1", value_stream=ValueStreamFactory(code="S"))


@pytest.mark.django_db
def test_rows_naming_existing_parents_are_written(family):
    cycle = CycleFactory(month=M)
    cell = PlanValueFactory(cycle=cycle, product_family=family)
    history(cycle.pk, family.value_stream_id, family.pk, cell=cell)
    history(cycle.pk, family.value_stream_id)
    bulk([(cycle.pk, family.value_stream_id, family.pk)] * 50 + [(cycle.pk, None, None)])
    connection.check_constraints(table_names=[HISTORY])
    assert PlanValueChange.all_objects.filter(cycle=cycle).count() == 53


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["cycle", "stream", "family"])
def test_a_row_naming_a_missing_parent_is_refused(family, bad):
    cycle = CycleFactory(month=M)
    ids = {"cycle": cycle.pk, "stream": family.value_stream_id, "family": family.pk}
    ids[bad] = missing(
        {"cycle": PlanningCycle, "stream": ValueStream, "family": ProductFamily}[bad]
    )
    good = history(cycle.pk, family.value_stream_id, family.pk)
    refused(lambda: history(ids["cycle"], ids["stream"], ids["family"]))
    # the same row among good ones, through the bulk path (COPY)
    refused(
        lambda: bulk([(cycle.pk, family.value_stream_id, family.pk)] * 10 + [tuple(ids.values())])
    )
    # an update that points a row elsewhere
    column = {"cycle": "cycle_id", "stream": "value_stream_id", "family": "product_family_id"}[bad]
    refused(lambda: PlanValueChange.all_objects.filter(pk=good.pk).update(**{column: ids[bad]}))
    # a row naming its cell is checked the same way
    cell = PlanValueFactory(cycle=cycle, product_family=family)
    refused(
        lambda: PlanValueChange.all_objects.create(
            cycle_id=ids["cycle"],
            value_stream_id=ids["stream"],
            product_family_id=ids["family"],
            plan_value=cell,
            month=M,
            measure="demand",
            version=1,
        )
    )
    assert list(PlanValueChange.all_objects.values_list("pk", flat=True)) == [good.pk]


@pytest.mark.django_db
def test_deleting_or_renumbering_a_row_that_history_names_is_refused():
    """Raw SQL, as no Django path does it: the database itself keeps the reference."""
    cycle = CycleFactory(month=M)
    stream = ValueStreamFactory(code="ALONE")  # no family, no cell: only history names it
    family = ProductFamilyFactory(code="F-2", value_stream=ValueStreamFactory(code="T"))
    history(cycle.pk, stream.pk)
    history(cycle.pk, family.value_stream_id, family.pk)
    for model, pk in ((ValueStream, stream.pk), (ProductFamily, family.pk)):
        table = model._meta.db_table
        refused(lambda table=table, pk=pk: raw(f"DELETE FROM {table} WHERE id = %s", [pk]))
        to = missing(model)
        refused(
            lambda table=table, pk=pk, to=to: raw(
                f"UPDATE {table} SET id = %s WHERE id = %s", [to, pk]
            )
        )
    table = PlanningCycle._meta.db_table
    to = missing(PlanningCycle)
    refused(lambda: raw(f"UPDATE {table} SET id = %s WHERE id = %s", [to, cycle.pk]))
    if connection.vendor == "postgresql":  # SQLite would first refuse for the cycle's steps
        refused(lambda: raw(f"DELETE FROM {table} WHERE id = %s", [cycle.pk]))
    assert PlanValueChange.all_objects.count() == 2


@pytest.mark.django_db
def test_django_cascades_delete_the_history_first(family):
    cycle = CycleFactory(month=M)
    cell = PlanValueFactory(cycle=cycle, product_family=family)
    history(cycle.pk, family.value_stream_id, family.pk, cell=cell)
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
    constraints = connection.introspection.get_constraints(connection.cursor(), HISTORY)
    keys = {c["columns"][0] for c in constraints.values() if c["foreign_key"]}
    assert keys == {"plan_value_id", "scenario_id", "changed_by_id"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = %s::regclass",
            [HISTORY],
        )
        assert {name for (name,) in cursor.fetchall()} == {
            f"{HISTORY}_parents_insert",
            f"{HISTORY}_parents_update",
        }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_written_rows_lock_their_parents_as_a_foreign_key_does():
    """While a transaction that wrote history is open, another cannot delete the
    stream it names (the lock ``FOR KEY SHARE`` a foreign-key check takes)."""
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
        history(cycle.pk, stream.pk)
        thread = threading.Thread(target=delete_elsewhere)
        thread.start()
        thread.join()
    assert outcome == ["OperationalError"]  # lock_timeout: it waited for this transaction
    PlanningCycle.objects.filter(pk=cycle.pk).delete()
