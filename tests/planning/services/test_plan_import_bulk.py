"""The column-wise import (``_parse_plan_csv_fast`` + ``plan_columns_upsert``) gives
exactly what the cell-by-cell path gives: the same rows, the same stored cells and
history, the same counts and preview, and — for a file with a problem — the same
problems, because the problems always come from the cell-by-cell path."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from planning import imports
from planning.imports import PlanRows, parse_plan
from planning.models import PlanValue, PlanValueChange
from planning.services import plan_import as plan_import_module
from planning.services.plan_import import plan_import
from sofp.errors import ValidationFailed
from tests.factories import ProductFamilyFactory, UserFactory

HEADER = "value_stream,product_family,month,measure,value\n"


def plan_file(value=lambda i: i * 1.5, extra: str = "") -> str:
    lines = [HEADER.strip()]
    for fam in ("A-1", "A-2"):
        lines.append(f"A,{fam},2027-01,opening_inventory,{value(7)}")
        for m in range(1, 13):
            lines.append(f"A,{fam},2027-{m:02d},demand,{value(m)}")
            lines.append(f"A,{fam},2027-{m:02d},production,{value(m + 1)}")
    for m in range(1, 7):
        lines.append(f"A,,2027-{m:02d},available_hours,{value(m) * 100}")
        lines.append(f"A,,2027-{m:02d},revenue,123")  # computed: skipped
        lines.append(f",,2027-{m:02d},sustaining_cost,{value(m) * 1000}")
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def families(family_a, family_b):
    ProductFamilyFactory(code="A-2", value_stream=family_a.value_stream)


def slow(monkeypatch) -> None:
    monkeypatch.setattr(imports, "_parse_plan_csv_fast", lambda **kw: None)


def run(text: str, cycle, user=None, dry_run=False):
    parsed = parse_plan(data=text.encode(), filename="plan.csv")
    return parsed, plan_import(
        cycle=cycle,
        rows=parsed.rows,
        user=user,
        dry_run=dry_run,
        parse_errors=parsed.errors,
        computed_skipped=parsed.computed_skipped,
    )


def stored(cycle) -> tuple[list, list]:
    cells = list(
        PlanValue.objects.filter(cycle=cycle)
        .order_by("value_stream", "product_family", "month", "measure")
        .values_list("value_stream", "product_family", "month", "measure", "value", "version")
    )
    history = sorted(
        PlanValueChange.objects.filter(cycle=cycle).values_list(
            "value_stream",
            "product_family",
            "month",
            "measure",
            "old_value",
            "new_value",
            "version",
            "source",
            # Each history row points at its own cell (the bulk path on SQLite writes
            # the history of new cells from the cells themselves).
            "plan_value__value_stream",
            "plan_value__product_family",
            "plan_value__month",
            "plan_value__measure",
        ),
        key=repr,
    )
    return cells, history


def outcome(result) -> tuple:
    return (
        result.added,
        result.changed,
        result.unchanged,
        result.cleared,
        result.computed_skipped,
        result.by_stream,
        [
            (c.value_stream, c.product_family, c.month, c.measure, c.old, c.new)
            for c in result.cells
        ],
    )


def both_ways(monkeypatch, cycle, files: list[str], user=None) -> None:
    """Import ``files`` one after the other column-wise, then (rolled back first) cell
    by cell: every result and the stored cells and history are the same."""
    results = {}
    for way in ("bulk", "cells"):
        with transaction.atomic():
            if way == "cells":
                slow(monkeypatch)
            got = []
            for text in files:
                parsed, result = run(text, cycle, user=user)
                assert isinstance(parsed.rows, PlanRows) == (way == "bulk")
                got.append(outcome(result))
            results[way] = (got, stored(cycle))
            transaction.set_rollback(True)
        monkeypatch.undo()
    assert results["bulk"] == results["cells"]


def test_the_fast_reader_gives_the_rows_of_the_line_reader(families, monkeypatch):
    text = plan_file(extra="A,A-1,2027-03,demand,\n")  # a blank value clears
    fast = parse_plan(data=text.encode())
    slow(monkeypatch)
    line_by_line = parse_plan(data=text.encode())
    assert isinstance(fast.rows, PlanRows)
    assert not isinstance(line_by_line.rows, PlanRows)
    assert list(fast.rows) == line_by_line.rows
    assert fast.computed_skipped == line_by_line.computed_skipped == 6
    assert fast.errors == line_by_line.errors == []


@pytest.mark.parametrize(
    "text",
    [
        '"value_stream",product_family,month,measure,value\nA,A-1,2027-01,demand,1\n',
        HEADER + "A,A-1,2027-01,demand,1\n\nA,A-1,2027-02,demand,1\n",
        HEADER + "A,A-1,2027-1,demand,1\n",
        HEADER + "A,A-1,2027-01,demand,1e3x\n",
        HEADER + "A,A-1,2027-01,demand,=1+1\n",
        HEADER + "A,A-1,2027-01,,1\n",
        HEADER + "A,A-1,2027-01,demand,1,2\n",
        "value_stream,product_family,month,measure\nA,A-1,2027-01,demand\n",
        HEADER,
    ],
)
def test_anything_unusual_is_left_to_the_line_reader(text):
    assert imports._parse_plan_csv_fast(data=text.encode(), filename="plan.csv") is None


def test_first_import_change_clear_and_same_again_agree(families, cycle, monkeypatch):
    first = plan_file()
    changed = plan_file(value=lambda i: i * 1.5 + (i % 3 == 0))
    cleared = changed.replace("A,A-2,2027-05,demand,7.5\n", "A,A-2,2027-05,demand,\n")
    assert cleared != changed
    both_ways(monkeypatch, cycle, [first, changed, cleared, first, first])


def test_a_planner_file_agrees(families, cycle, monkeypatch, planner_a):
    text = "\n".join(line for line in plan_file().splitlines() if not line.startswith(",,"))
    both_ways(monkeypatch, cycle, [text + "\n"], user=planner_a)


@pytest.mark.parametrize(
    "bad",
    [
        "A,A-9,2027-01,demand,1\n",  # unknown family
        "B,A-1,2027-02,demand,1\n",  # a family of another stream
        "A,A-1,2029-01,demand,1\n",  # outside the horizon
        "A,A-1,2027-02,opening_inventory,1\n",  # not the first month
        "A,A-1,2027-01,demand,2\n",  # duplicate
        "A,A-1,2027-01,demand,-1\n",  # negative
        "A,A-1,2027-01,nonsense,1\n",  # unknown measure
        "A,,2027-01,demand,1\n",  # needs a family
        "A,A-1,2027-01,sustaining_cost,1\n",  # takes no stream
    ],
)
def test_a_file_with_a_problem_gets_the_line_readers_problems(families, cycle, monkeypatch, bad):
    text = plan_file(extra=bad)
    with pytest.raises(ValidationFailed) as fast:
        run(text, cycle)
    slow(monkeypatch)
    with pytest.raises(ValidationFailed) as line_by_line:
        run(text, cycle)
    assert fast.value.errors == line_by_line.value.errors
    assert fast.value.errors  # each names its line
    assert not PlanValue.objects.filter(cycle=cycle).exists()


def test_a_file_the_user_may_not_change_is_refused_by_the_same_words(families, cycle, monkeypatch):
    from sofp.errors import PermissionDenied

    outsider = UserFactory(username="outsider")
    with pytest.raises(PermissionDenied) as fast:
        run(plan_file(), cycle, user=outsider)
    slow(monkeypatch)
    with pytest.raises(PermissionDenied) as line_by_line:
        run(plan_file(), cycle, user=outsider)
    assert fast.value.errors == line_by_line.value.errors
    assert not PlanValue.objects.filter(cycle=cycle).exists()


def test_a_dry_run_writes_nothing(families, cycle):
    _parsed, result = run(plan_file(), cycle, dry_run=True)
    assert result.added > 0 and result.dry_run
    assert not PlanValue.objects.filter(cycle=cycle).exists()
    assert plan_import_module.plan_columns_upsert  # the bulk path is the one taken


def test_history_has_one_row_per_changed_cell_pointing_at_it(families, cycle, planner_a):
    """New cells' history (written from the cells themselves on SQLite), changed,
    cleared and re-added cells: one row each, naming the cell, who, when and the values;
    a cycle imported later gets only its own."""
    from planning.services.cycles import cycle_create

    text = "\n".join(line for line in plan_file().splitlines() if not line.startswith(",,"))
    run(text + "\n", cycle, user=planner_a)
    cleared = text.replace("A,A-2,2027-05,demand,7.5", "A,A-2,2027-05,demand,")
    assert cleared != text
    run(cleared + "\n", cycle, user=planner_a)
    again = text.replace("A,A-1,2027-02,demand,3.0", "A,A-1,2027-02,demand,4")
    assert again != text
    run(again + "\n", cycle, user=planner_a)  # re-adds the cleared cell, changes one
    other = cycle_create(month=cycle.month.replace(year=cycle.month.year + 1))
    run(text.replace("2027-", "2028-") + "\n", other, user=planner_a)

    for c in (cycle, other):
        cells = {v.pk: v for v in PlanValue.objects.filter(cycle=c)}
        history = list(PlanValueChange.objects.filter(cycle=c).order_by("pk"))
        per_cell: dict[int, list] = {}
        for h in history:
            per_cell.setdefault(h.plan_value_id, []).append(h)
        assert set(per_cell) == set(cells)
        for pk, rows in per_cell.items():
            cell = cells[pk]
            assert [h.version for h in rows] == list(range(1, cell.version + 1))
            assert rows[0].old_value is None
            for before, after in itertools.pairwise(rows):
                assert before.new_value == after.old_value
            for h in rows:
                assert (h.value_stream_id, h.product_family_id, h.month, h.measure) == (
                    cell.value_stream_id,
                    cell.product_family_id,
                    cell.month,
                    cell.measure,
                )
                assert h.changed_by_id == planner_a.pk and h.source == "import"
            assert rows[-1].changed_at == cell.updated_at
            assert rows[-1].new_value == cell.value
    assert (
        PlanValueChange.objects.filter(cycle=cycle).count()
        == len(PlanValue.objects.filter(cycle=cycle)) + 3
    )  # cleared, re-added, changed


def test_a_cell_created_meanwhile_stops_the_bulk_insert_whole(families, cycle):
    """A cell another writer created first (its unique key) makes the bulk insert an
    IntegrityError, as a plain INSERT would (PostgreSQL: ``ON CONFLICT DO NOTHING``
    and a count), and none of the batch — cells or history — stays."""
    import datetime as dt

    from django.db import IntegrityError
    from django.utils import timezone

    from planning.services.plan_values_bulk import _create_cells
    from valuestreams.models import ProductFamily

    a1 = ProductFamily.objects.get(code="A-1")
    a2 = ProductFamily.objects.get(code="A-2")
    PlanValue.objects.create(
        cycle=cycle,
        value_stream=a1.value_stream,
        product_family=a1,
        month=dt.date(2027, 2, 1),
        measure="demand",
        value=5,
    )
    now = timezone.now()
    rows = [
        (cycle.pk, f.value_stream_id, f.pk, f"2027-{m:02d}-01", "demand", m, 1, "", None, now)
        for f in (a2, a1)
        for m in (1, 2)
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        _create_cells(cycle.pk, rows, source="import")
    assert PlanValue.objects.filter(cycle=cycle).count() == 1
    assert not PlanValueChange.objects.filter(cycle=cycle).exists()
    with transaction.atomic():
        _create_cells(
            cycle.pk,
            [r for r in rows if not (r[2] == a1.pk and r[3] == "2027-02-01")],
            source="import",
        )
    assert PlanValue.objects.filter(cycle=cycle).count() == 4
    assert PlanValueChange.objects.filter(cycle=cycle, version=1, old_value=None).count() == 3


_UPDATES = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s"


def _one(sql: str, *params) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_a_re_import_updates_cells_on_their_page_and_keeps_the_scenario_history(
    families, cycle, planner_a
):
    """PostgreSQL keeps room on each page of the plan's cells (fillfactor, migration
    0019): re-importing a file that changes every value updates each cell "HOT", on its
    page, with no new index entry. The history's scenario and author indexes hold only
    the rows that are set, and still find them."""
    from django.db import connection

    from planning.models import Scenario
    from planning.services.scenarios import scenario_create

    run(plan_file(), cycle, user=None)
    postgres = connection.vendor == "postgresql"
    if postgres:
        assert _one(
            "SELECT reloptions FROM pg_class WHERE relname = %s", PlanValue._meta.db_table
        ) == (["fillfactor=50"],)
        before = _one(_UPDATES, PlanValue._meta.db_table)
    _, result = run(plan_file(value=lambda i: i * 2.5), cycle, user=None)
    assert result.changed == result.added + result.changed + result.unchanged > 0
    if postgres:
        after = _one(_UPDATES, PlanValue._meta.db_table)
        assert after[0] - before[0] == result.changed  # every cell updated once …
        assert after[1] - before[1] == result.changed  # … and all of them HOT

    scenario = scenario_create(cycle=cycle, name="second-shift", user=None)
    assert isinstance(scenario, Scenario)
    streams_only = "".join(
        line + "\n"
        for line in plan_file(value=lambda i: i * 3.5).splitlines()
        if not line.startswith(",,")
    )
    run(streams_only, cycle.in_scenario(scenario), user=planner_a)
    plan = PlanValueChange.objects.filter(cycle=cycle)
    assert plan.exists() and not plan.filter(changed_by__isnull=False).exists()
    in_scenario = PlanValueChange.all_objects.filter(scenario=scenario)
    assert in_scenario.exists()
    assert set(in_scenario.values_list("changed_by", flat=True)) == {planner_a.pk}
    assert PlanValueChange.all_objects.filter(changed_by=planner_a).count() == (in_scenario.count())
