"""A write of a few cells (a grid save) takes short statements: its reads compiled once
per shape (``PreparedShapes``), one UPDATE, one INSERT with RETURNING, one history INSERT.
Each is checked against what it replaces: the same rows read, and the same cells,
versions and history written as the path of many cells (COPY, scratch table, read-back)
writes them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Q

from planning.models import PlanValue, PlanValueChange, ScenarioCell
from planning.selectors.prepared_shapes import PreparedShapes
from planning.services import plan_values
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.scenarios import scenario_create
from tests.factories import CycleFactory, ProductFamilyFactory
from valuestreams.models import ProductFamily, ValueStream

pytestmark = pytest.mark.django_db
MONTHS = [dt.date(2027, 3, 1), dt.date(2027, 4, 1), dt.date(2027, 5, 1)]


def _d(x) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def _writes(family: str = "A-1") -> list[list[CellInput]]:
    """Saves that add, change, leave, clear, write again after a clear, and touch stream
    and company cells."""
    fam = [CellInput("A", family, m, "demand", _d(10 + i)) for i, m in enumerate(MONTHS)]
    return [
        fam,
        [
            CellInput("A", family, MONTHS[0], "demand", _d("11.5")),
            CellInput("A", family, MONTHS[1], "demand", _d(11)),  # unchanged
            CellInput("A", family, MONTHS[2], "demand", None),  # cleared
            CellInput("A", family, MONTHS[0], "production", _d(4)),
            CellInput("A", "", MONTHS[1], "available_hours", _d(160)),
        ],
        [
            CellInput("A", family, MONTHS[2], "demand", _d(7)),  # after a clear
            CellInput("A", "", MONTHS[1], "available_hours", _d("160.25")),
            CellInput("", "", MONTHS[0], "sustaining_cost", _d(900)),
        ],
        [CellInput("A", family, MONTHS[0], "production", None)],
    ]


def _cells(cycle) -> list[tuple]:
    rows = PlanValue.objects.filter(cycle=cycle).order_by(
        "value_stream__code", "product_family__code", "month", "measure"
    )
    return [
        (
            pv.value_stream.code if pv.value_stream else "",
            pv.product_family.code if pv.product_family else "",
            pv.month,
            pv.measure,
            pv.value,
            pv.version,
            pv.comment,
            pv.updated_by_id,
        )
        for pv in rows.select_related("value_stream", "product_family")
    ]


def _history(cycle) -> list[tuple]:
    return [
        (
            h.plan_value.measure if h.plan_value else None,
            h.plan_value.month if h.plan_value else None,
            h.value_stream_id,
            h.product_family_id,
            h.month,
            h.measure,
            h.old_value,
            h.new_value,
            h.version,
            h.source,
            h.changed_by_id,
            h.scenario_id,
            h.note,
        )
        for h in PlanValueChange.objects.filter(cycle=cycle)
        .select_related("plan_value")
        .order_by("pk")
    ]


def _run(cycle, user, results: list) -> None:
    for cells in _writes():
        result = plan_values_upsert(cycle=cycle, cells=cells, user=user, check_versions=True)
        stored = {pv.pk: pv for pv in PlanValue.objects.filter(cycle=cycle)}
        for s in result.stored:
            if s.pk is not None:  # every stored cell names its row, as it holds it now
                assert (stored[s.pk].value, stored[s.pk].version) == (s.value, s.version)
        results.append(
            (result.as_dict(), result.by_stream, [(s.value, s.version) for s in result.stored])
        )


def test_a_few_cells_are_written_as_many_cells_are(monkeypatch, stream_a, family_a, admin_user):
    few_cycle = CycleFactory(month=dt.date(2027, 1, 1))
    many_cycle = CycleFactory(month=dt.date(2027, 2, 1))
    few, many = [], []
    _run(few_cycle, admin_user, few)
    with monkeypatch.context() as patch:
        patch.setattr(plan_values, "_FEW", 0)  # every write by COPY / scratch table
        _run(many_cycle, admin_user, many)
    assert few == many
    assert _cells(few_cycle) == _cells(many_cycle)
    assert len(_history(few_cycle)) == 11
    assert _history(few_cycle) == _history(many_cycle)
    # Each cell's stamp is its last change's.
    for pv in PlanValue.objects.filter(cycle=few_cycle):
        last = PlanValueChange.objects.filter(plan_value=pv).order_by("-pk").first()
        assert pv.updated_at == last.changed_at and pv.version == last.version


def test_a_scenario_takes_a_few_cells_as_many(monkeypatch, stream_a, family_a, executive):
    results = []
    for few, month in ((True, dt.date(2027, 1, 1)), (False, dt.date(2027, 2, 1))):
        cycle = CycleFactory(month=month)
        plan_values_upsert(cycle=cycle, cells=_writes()[0], user=None)
        scenario = scenario_create(cycle=cycle, name="high", user=executive)
        scoped = cycle.in_scenario(scenario)
        with monkeypatch.context() as patch:
            if not few:
                patch.setattr(plan_values, "_FEW", 0)
            for cells in _writes()[1:3]:
                cells = [c for c in cells if c.value_stream]  # no company cell in a scenario
                plan_values_upsert(cycle=scoped, cells=cells, user=None)
        cells = ScenarioCell.objects.filter(scenario=scenario).order_by(
            "value_stream_id", "product_family_id", "month", "measure"
        )
        results.append(
            [
                (c.value_stream_id, c.product_family_id, c.month, c.measure, c.value, c.version)
                for c in cells
            ]
        )
    assert results[0] == results[1] and len(results[0]) == 5


def test_the_prepared_reads_find_what_the_orm_finds(
    django_assert_num_queries, stream_a, stream_b, family_a, family_b
):
    ProductFamilyFactory(code="A-2", value_stream=stream_a, active=False)
    streams = plan_values._streams_of({"A", "B", "NOPE"})
    assert sorted(streams) == ["A", "B"]
    for code, vs in streams.items():
        orm = ValueStream.objects.get(code=code)
        assert [getattr(vs, f) for f in plan_values._STREAM_FIELDS] == [
            getattr(orm, f) for f in plan_values._STREAM_FIELDS
        ]
    families = plan_values._families_of({"A-1", "A-2", "B-1", "NOPE"})
    assert sorted(families) == ["A-1", "A-2", "B-1"]
    for code, fam in families.items():
        orm = ProductFamily.objects.select_related("value_stream").get(code=code)
        assert [getattr(fam, f) for f in plan_values._FAMILY_FIELDS] == [
            getattr(orm, f) for f in plan_values._FAMILY_FIELDS
        ]
        assert not fam._state.adding and fam._state.db == orm._state.db
    with django_assert_num_queries(0):  # the stream came with the family
        assert families["B-1"].value_stream.code == "B"
    assert plan_values._streams_of(set()) == {} and plan_values._families_of(set()) == {}


@pytest.mark.parametrize(
    "shape",
    [(False, False, False), (False, True, False), (False, False, True), (False, True, True)],
)
def test_the_locked_cells_are_the_orms(shape, cycle, stream_a, stream_b, family_a, family_b):
    _, company_wide, stream_level = shape
    cells = [
        CellInput("A", "A-1", MONTHS[0], "demand", _d(1)),
        CellInput("B", "B-1", MONTHS[1], "production", _d(2)),
        CellInput("A", "", MONTHS[0], "available_hours", _d(3)),
        CellInput("", "", MONTHS[1], "sustaining_cost", _d(4)),
        CellInput("A", "A-1", MONTHS[2], "demand", _d(5)),
    ]
    plan_values_upsert(cycle=cycle, cells=cells, user=None)
    streams = [stream_a.pk, stream_b.pk]
    families = [family_a.pk] if stream_level else [family_a.pk, family_b.pk]
    values = {
        "owner": cycle.pk,
        "months": MONTHS[:2],
        "measures": ["demand", "production", "available_hours", "sustaining_cost"],
        "streams": streams,
        "families": families,
    }
    scope = Q(value_stream_id__in=values["streams"])
    if company_wide:
        scope |= Q(value_stream__isnull=True)
    family_scope = Q(product_family_id__in=families)
    if stream_level:
        family_scope |= Q(product_family__isnull=True)
    with transaction.atomic():
        orm = list(
            PlanValue.objects.filter(cycle=cycle)
            .filter(month__in=values["months"], measure__in=values["measures"])
            .filter(scope)
            .filter(family_scope)
            .order_by("pk")
            .values_list(
                "pk",
                "value_stream_id",
                "product_family_id",
                "month",
                "measure",
                "value",
                "version",
                "updated_by__username",
                "updated_at",
            )
        )
        for _ in range(2):  # compiled, then run again
            assert plan_values._EXISTING.rows(shape=shape, **values) == orm
    assert orm  # the comparison saw rows


def test_long_lists_and_many_shapes_run_the_queryset(stream_a, stream_b, family_a):
    shapes = PreparedShapes(
        lambda shape, codes: (
            ValueStream.objects.filter(code__in=codes)
            .order_by("code")
            .values_list("code", "active")
        ),
        lists={"codes": str},
        most=2,
        kept=1,
    )
    assert shapes.rows(codes=["A"]) == [("A", True)]  # compiled: the one shape kept
    assert shapes.rows(codes=["B"]) == [("B", True)]  # the same shape, another code
    assert shapes.rows(codes=["A", "B"]) == [("A", True), ("B", True)]  # not kept
    assert shapes.rows(codes=["A", "B", "X"]) == [("A", True), ("B", True)]  # too long
    assert len(shapes._prepared) == 1


def test_the_shared_lock_reads_the_cycle_the_orm_reads():
    from django.db import connection

    from planning.models import PlanningCycle

    if connection.vendor != "postgresql":
        pytest.skip("FOR SHARE is PostgreSQL's (SQLite writers take the database alone)")
    cycle = CycleFactory(month=dt.date(2027, 1, 1), status="in_progress")
    PlanningCycle.objects.filter(pk=cycle.pk).update(
        approved_at=dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    )
    orm = PlanningCycle.objects.get(pk=cycle.pk)
    with transaction.atomic():
        locked = plan_values._cycle_locked(orm)
    assert [getattr(locked, f) for f in plan_values._CYCLE_NAMES] == [
        getattr(orm, f) for f in plan_values._CYCLE_NAMES
    ]
    assert not locked._state.adding and locked._state.db == orm._state.db
    assert plan_values._cycle_shared(orm.pk + 1000) is None
