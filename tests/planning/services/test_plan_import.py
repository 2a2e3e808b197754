"""Plan files: parsing, validation (every problem, by line and column), writing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from planning.imports import parse_plan
from planning.models import PlanningCycle, PlanValue, PlanValueChange
from planning.services.plan_import import plan_import, plan_import_for_month
from sofp.errors import FrozenCycleError, PermissionDenied, ValidationFailed
from tests.factories import CycleFactory, PlanValueFactory

HEADER = "value_stream,product_family,month,measure,value\n"
GOOD = (
    HEADER + "A,A-1,2027-01,opening_inventory,10\n"
    "A,A-1,2027-01,demand,100\n"
    "A,A-1,2027-01,production,90.5\n"
    "A,,2027-01,available_hours,1000\n"
    ",,2027-01,sustaining_cost,5000\n"
)


@pytest.fixture
def plan_setup(family_a, family_b, cycle):
    return cycle


def run(text: str | bytes, *, cycle, user=None, dry_run=False, filename="plan.csv"):
    data = text.encode() if isinstance(text, str) else text
    parsed = parse_plan(data=data, filename=filename)
    return plan_import(
        cycle=cycle,
        rows=parsed.rows,
        user=user,
        dry_run=dry_run,
        parse_errors=parsed.errors,
        computed_skipped=parsed.computed_skipped,
    )


def rejected(text: str | bytes, *, cycle, **kw) -> list[str]:
    """Run a bad file; assert nothing was written; return the problems."""
    before = (PlanValue.objects.count(), PlanValueChange.objects.count())
    with pytest.raises(ValidationFailed) as info:
        run(text, cycle=cycle, **kw)
    assert (PlanValue.objects.count(), PlanValueChange.objects.count()) == before
    return info.value.errors


# --------------------------------------------------------------------------- good files


def test_import_writes_every_cell_with_history(plan_setup):
    result = run(GOOD, cycle=plan_setup)
    assert (result.added, result.changed, result.unchanged) == (5, 0, 0)
    assert PlanValue.objects.get(measure="production").value == Decimal("90.5")
    changes = PlanValueChange.objects.filter(source="import")
    assert changes.count() == 5
    demand = PlanValue.objects.get(measure="demand")
    change = changes.get(measure="demand")
    assert change.plan_value_id == demand.pk
    assert (change.old_value, change.new_value, change.version) == (None, Decimal("100"), 1)


def test_reimporting_the_same_file_changes_nothing(plan_setup):
    run(GOOD, cycle=plan_setup)
    snapshot = list(PlanValue.objects.values_list("pk", "value", "version").order_by("pk"))
    result = run(GOOD, cycle=plan_setup)
    assert (result.added, result.changed, result.unchanged, result.cleared) == (0, 0, 5, 0)
    assert result.summary() == "0 added, 0 changed, 5 unchanged"
    assert list(PlanValue.objects.values_list("pk", "value", "version").order_by("pk")) == snapshot
    assert PlanValueChange.objects.count() == 5


def test_import_counts_added_changed_unchanged_and_bumps_versions(plan_setup):
    run(GOOD, cycle=plan_setup)
    changed = GOOD.replace("demand,100", "demand,120") + "A,A-1,2027-02,demand,7\n"
    result = run(changed, cycle=plan_setup)
    assert (result.added, result.changed, result.unchanged) == (1, 1, 4)
    demand = PlanValue.objects.get(measure="demand", month=dt.date(2027, 1, 1))
    assert (demand.value, demand.version) == (Decimal("120"), 2)
    last = PlanValueChange.objects.filter(plan_value=demand).order_by("-version").first()
    assert (last.old_value, last.new_value, last.version) == (Decimal("100"), Decimal("120"), 2)


def test_import_reports_counts_per_value_stream(plan_setup):
    result = run(GOOD + "B,B-1,2027-01,demand,3\n", cycle=plan_setup)
    assert result.by_stream["A"]["added"] == 4
    assert result.by_stream["B"]["added"] == 1
    assert result.by_stream[""]["added"] == 1  # the company's sustaining cost


def test_blank_value_clears_the_cell(plan_setup):
    run(GOOD, cycle=plan_setup)
    result = run(HEADER + "A,A-1,2027-01,demand,\nA,A-1,2027-03,demand,\n", cycle=plan_setup)
    assert (result.cleared, result.unchanged, result.added) == (1, 1, 0)
    assert not PlanValue.objects.filter(PlanValue.filled, measure="demand").exists()
    gone = PlanValueChange.objects.get(measure="demand", new_value__isnull=True)
    assert gone.old_value == Decimal("100")


def test_dry_run_reports_but_writes_nothing(plan_setup):
    result = run(GOOD, cycle=plan_setup, dry_run=True)
    assert result.added == 5
    assert PlanValue.objects.count() == 0
    assert PlanValueChange.objects.count() == 0


def test_utf8_bom_crlf_and_spaces_are_accepted(plan_setup):
    text = ("\ufeff" + GOOD.replace("\n", "\r\n")).replace(
        "A,A-1,2027-01,demand,100", " A , A-1 ,2027-01, demand , 100 "
    )
    result = run(text.encode("utf-8"), cycle=plan_setup)
    assert result.added == 5


def test_computed_measures_in_a_file_are_skipped(plan_setup):
    text = GOOD + "A,A-1,2027-01,ending_inventory,-80\nA,,2027-01,utilization,\n"
    result = run(text, cycle=plan_setup)
    assert (result.added, result.computed_skipped) == (5, 2)


def test_xlsx_plan_file_is_read(plan_setup):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["value_stream", "product_family", "month", "measure", "value"])
    ws.append(["A", "A-1", "2027-01", "demand", 12.5])
    ws.append(["A", "A-1", dt.datetime(2027, 2, 1), "demand", 3])  # Excel turned it into a date
    ws.append(["A", None, "2027-01", "available_hours", "700"])
    buf = io.BytesIO()
    wb.save(buf)
    result = run(buf.getvalue(), cycle=plan_setup, filename="plan.xlsx")
    assert result.added == 3
    assert PlanValue.objects.get(month=dt.date(2027, 2, 1)).value == Decimal("3")


def test_missing_cycle_is_created_with_its_steps(family_a):
    parsed = parse_plan(data=GOOD.replace(",,2027-01,sustaining_cost,5000\n", "").encode())
    result = plan_import_for_month(month=dt.date(2027, 1, 1), rows=parsed.rows, user=None)
    assert result.cycle_created
    assert result.cycle.steps.count() == 5
    assert PlanValue.objects.filter(cycle=result.cycle).count() == 4


def test_rejected_file_for_a_new_cycle_leaves_no_cycle(family_a):
    parsed = parse_plan(data=(HEADER + "A,A-1,2027-01,demand,-1\n").encode())
    with pytest.raises(ValidationFailed):
        plan_import_for_month(month=dt.date(2027, 1, 1), rows=parsed.rows, user=None)
    assert not PlanningCycle.objects.exists()


def test_planner_imports_their_own_stream(plan_setup, planner_a):
    result = run(
        GOOD.replace(",,2027-01,sustaining_cost,5000\n", ""), cycle=plan_setup, user=planner_a
    )
    assert result.added == 4
    assert PlanValue.objects.filter(updated_by=planner_a).count() == 4


def test_planner_cannot_import_another_stream_and_nothing_is_written(plan_setup, planner_a):
    text = HEADER + "A,A-1,2027-01,demand,1\nB,B-1,2027-01,demand,2\n"
    with pytest.raises(PermissionDenied) as info:
        run(text, cycle=plan_setup, user=planner_a)
    assert "line 3" in info.value.errors[0]
    assert "'B'" in info.value.errors[0]
    assert PlanValue.objects.count() == 0


def test_frozen_cycle_refuses_imports(family_a):
    frozen = CycleFactory(month=dt.date(2027, 1, 1), status="approved")
    with pytest.raises(FrozenCycleError, match="approved and frozen"):
        run(HEADER + "A,A-1,2027-01,demand,1\n", cycle=frozen)
    assert PlanValue.objects.count() == 0


def test_frozen_cycle_refuses_even_a_bad_file_with_the_frozen_message(family_a):
    frozen = CycleFactory(month=dt.date(2027, 1, 1), status="approved")
    with pytest.raises(FrozenCycleError):
        run(HEADER + "A,A-1,2027-01,demand,abc\nA,A-1,2027-01,production,1\n", cycle=frozen)


def test_same_import_twice_equals_one_import(plan_setup):
    run(GOOD, cycle=plan_setup)
    once = sorted(PlanValue.objects.values_list("measure", "month", "value", "version"))
    run(GOOD, cycle=plan_setup)
    assert sorted(PlanValue.objects.values_list("measure", "month", "value", "version")) == once


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ZZ,A-1,2027-01,demand,1", "line 2: unknown value stream 'ZZ'"),
        ("A,NOPE,2027-01,demand,1", "line 2: unknown product family 'NOPE'"),
        ("A,A-1,2027-13,demand,1", "line 2, column month: '2027-13' is not a month"),
        ("A,A-1,01/2027,demand,1", "line 2, column month: '01/2027' is not a month"),
        ("A,A-1,,demand,1", "line 2, column month: is empty"),
        ("A,A-1,2027-01,demand,abc", "line 2, column value: 'abc' is not a number"),
        ('A,A-1,2027-01,demand,"1,5"', "use a dot for decimals"),
        ("A,A-1,2027-01,demand,-5", "line 2: demand must not be negative"),
        ("A,,2027-01,available_hours,-1", "line 2: available_hours must not be negative"),
        ("A,A-1,2029-01,demand,1", "line 2: month 2029-01 is outside the horizon 2027-01..2028-06"),
        ("A,A-1,2026-12,demand,1", "line 2: month 2026-12 is outside the horizon"),
        ("A,A-1,2027-02,opening_inventory,1", "belongs to the cycle's first month 2027-01"),
        ("B,A-1,2027-01,demand,1", "line 2: product family 'A-1' belongs to value stream 'A'"),
        ("A,A-1,2027-01,demnd,1", "line 2: unknown measure 'demnd'"),
        ("A,A-1,2027-01,available_hours,1", "line 2: measure 'available_hours' takes no product"),
        ("A,,2027-01,demand,1", "line 2: measure 'demand' needs a product family"),
        ("A,,2027-01,sustaining_cost,1", "line 2: measure 'sustaining_cost' takes no value stream"),
        ("A,A-1,2027-01,,1", "line 2, column measure: is empty"),
        ("A,A-1,2027-01,demand,1,extra", "line 2: 6 cells but the header has 5 columns"),
    ],
)
def test_bad_row_is_rejected_by_line_and_column_and_nothing_written(plan_setup, line, expected):
    errors = rejected(HEADER + line + "\n", cycle=plan_setup)
    assert any(expected in e for e in errors), errors


def test_duplicate_row_names_both_lines(plan_setup):
    errors = rejected(GOOD + "A,A-1,2027-01,demand,5\n", cycle=plan_setup)
    assert errors == ["line 7: duplicate of line 3"]


def test_missing_column_is_named(plan_setup):
    errors = rejected(
        "value_stream,product_family,month,value\nA,A-1,2027-01,1\n", cycle=plan_setup
    )
    assert errors == [
        "line 1: the header has missing column(s) measure. "
        "Expected: value_stream,product_family,month,measure,value."
    ]


def test_semicolon_separated_file_gets_a_hint(plan_setup):
    errors = rejected(HEADER.replace(",", ";") + "A;A-1;2027-01;demand;1\n", cycle=plan_setup)
    assert "separated by ';'" in errors[0]


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file_is_rejected(plan_setup, data):
    errors = rejected(data, cycle=plan_setup)
    assert errors[0].startswith("The file is empty")


def test_header_only_file_is_rejected(plan_setup):
    assert rejected(HEADER, cycle=plan_setup) == ["The file has a header but no data rows."]


def test_wrong_encoding_names_the_line(plan_setup):
    data = (HEADER + "A,A-1,2027-01,demand,1\n").encode() + "A,Ä-1,2027-01,demand,1\n".encode(
        "latin-1"
    )
    errors = rejected(data, cycle=plan_setup)
    assert errors == [
        "The file is not UTF-8 text (byte 0xc4 on line 3). "
        "Save it as UTF-8 (in Excel: 'CSV UTF-8') and try again."
    ]


def test_utf16_file_is_rejected_with_advice(plan_setup):
    errors = rejected(GOOD.encode("utf-16"), cycle=plan_setup)
    assert "UTF-16" in errors[0]


def test_broken_xlsx_is_rejected(plan_setup):
    errors = rejected(b"PK\x03\x04 not really a zip", cycle=plan_setup, filename="plan.xlsx")
    assert "could not be read as an Excel workbook" in errors[0]


def test_parse_and_cell_problems_are_reported_together_in_line_order(plan_setup):
    text = (
        HEADER + "A,A-1,2027-01,demand,abc\n"  # line 2: parse error
        "ZZ,A-1,2027-01,demand,1\n"  # line 3: unknown stream (upsert)
        "A,A-1,2027-02,demand,1\n"  # line 4: fine
        "A,A-1,2027-03,demand,-4\n"  # line 5: negative (upsert)
        "A,A-1,2027-13,production,1\n"  # line 6: bad month (parser)
    )
    errors = rejected(text, cycle=plan_setup)
    assert [e.split(":")[0].split(",")[0] for e in errors] == [
        "line 2",
        "line 3",
        "line 5",
        "line 6",
    ]
    assert "column value" in errors[0] and "unknown value stream 'ZZ'" in errors[1]


def test_every_problem_is_listed_once(plan_setup):
    text = HEADER + "".join(f"A,A-1,2027-01,demand,x{i}\n" for i in range(30))
    errors = rejected(text, cycle=plan_setup)
    assert len(errors) == len(set(errors)) == 30


def test_bad_file_changes_nothing_already_stored(plan_setup):
    run(GOOD, cycle=plan_setup)
    errors = rejected(
        GOOD.replace("demand,100", "demand,200") + "A,A-1,2027-02,demand,x\n", cycle=plan_setup
    )
    assert errors == ["line 7, column value: 'x' is not a number"]
    assert PlanValue.objects.get(measure="demand").value == Decimal("100")


def test_existing_cells_from_other_paths_are_counted_as_changed(plan_setup, family_a):
    PlanValueFactory(cycle=plan_setup, product_family=family_a, measure="demand", value=1)
    result = run(HEADER + "A,A-1,2027-01,demand,2\n", cycle=plan_setup)
    assert (result.added, result.changed) == (0, 1)


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_once_do_not_corrupt(family_a, family_b):
    """Both threads go through the cycle lock: one adds, the other finds it unchanged
    (or, if it lost the race for new cells, is refused whole). Never half a plan."""
    import threading

    from django.db import connection

    from sofp.errors import VersionConflict

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "in-memory SQLite (shared cache) cannot hold two writers; "
            "run with SQLITE_TEST_NAME=/tmp/sofp-test.sqlite3 or on PostgreSQL"
        )
    cycle = CycleFactory(month=dt.date(2027, 1, 1))
    text = HEADER + "".join(
        f"{vs},{vs}-1,{m},{measure},{i}\n"
        for i, (vs, m, measure) in enumerate(
            (vs, f"2027-{mm:02d}", measure)
            for vs in ("A", "B")
            for mm in range(1, 13)
            for measure in ("demand", "production")
        )
    )
    outcomes: list[object] = []

    def worker() -> None:
        try:
            outcomes.append(run(text, cycle=cycle))
        except VersionConflict as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2
    results = [o for o in outcomes if not isinstance(o, Exception)]
    assert sum(r.added for r in results) == 48
    assert PlanValue.objects.filter(cycle=cycle).count() == 48
    assert set(PlanValue.objects.values_list("version", flat=True)) == {1}
    assert PlanValueChange.objects.count() == 48


def test_upsert_result_gives_each_cells_id_value_and_version_without_queries(
    plan_setup, django_assert_num_queries
):
    from planning.services.plan_values import CellInput, plan_values_upsert

    upsert = plan_values_upsert(
        cycle=plan_setup,
        cells=[CellInput("A", "A-1", dt.date(2027, 3, 1), "demand", Decimal(4))],
        user=None,
    )
    (stored,) = upsert.stored
    with django_assert_num_queries(0):
        assert stored.pk is not None and (stored.value, stored.version) == (Decimal(4), 1)
    assert PlanValue.objects.get(pk=stored.pk).measure == "demand"
