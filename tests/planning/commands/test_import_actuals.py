"""``import_actuals FILE``: long CSV or xlsx, rejected whole by line and column, re-import
a no-op, months up to the current one."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from planning.models import Actual

pytestmark = pytest.mark.django_db

HEADER = "value_stream,product_family,month,measure,value\n"
GOOD = (
    HEADER + "A,A-1,2026-09,actual_sales,120\n"
    "A,A-1,2026-09,actual_production,118.5\n"
    "A,,2026-09,orders_shipped,40\n"
    "A,,2026-09,orders_on_time,38\n"
    "A,,2026-09,headcount,12\n"
)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def write(tmp_path: Path, text: str, name: str = "a.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_writes_facts_and_again_changes_nothing(tmp_path, family_a):
    path = write(tmp_path, GOOD)
    assert "5 added" in run("import_actuals", path)
    assert Actual.objects.count() == 5
    assert Actual.objects.get(measure="actual_production").value == Decimal("118.5")
    assert "0 added, 0 changed, 5 unchanged" in run("import_actuals", path)
    assert set(Actual.objects.values_list("version", flat=True)) == {1}


def test_dry_run_writes_nothing(tmp_path, family_a):
    assert "Dry run" in run("import_actuals", write(tmp_path, GOOD), "--dry-run")
    assert not Actual.objects.exists()


def test_bad_file_is_rejected_whole_with_every_problem_by_line_and_column(tmp_path, family_a):
    bad = (
        GOOD + "A,A-1,2099-01,actual_sales,5\n"  # line 7: month not started
        "A,A-1,2026-13,actual_sales,5\n"  # line 8: bad month
        "A,A-1,2026-08,actual_sales,ten\n"  # line 9: text in a number
        "A,A-1,2026-08,nonsense,1\n"  # line 10
        "Z,,2026-08,headcount,1\n"  # line 11: unknown stream
        "A,,2026-08,headcount,-2\n"  # line 12: negative
        "A,A-1,2026-09,actual_sales,121\n"  # line 13: duplicate of line 2
    )
    with pytest.raises(CommandError) as exc:
        run("import_actuals", write(tmp_path, bad))
    text = str(exc.value)
    for where in (
        "line 7, column month",
        "line 8, column month",
        "line 9, column value",
        "line 10, column measure",
        "line 11, column value_stream",
        "line 12, column value",
        "line 13",
    ):
        assert where in text, where
    assert not Actual.objects.exists()


def test_every_problem_of_a_line_is_named_not_only_the_first_cell(tmp_path, family_a):
    bad = (
        GOOD + "A,NOFAM,2026-13,actual_sales,5\n"  # line 7: bad month and unknown family
        "Q,A-1,2026-08,actual_sales,lots\n"  # line 8: unknown stream and text in a number
    )
    with pytest.raises(CommandError) as exc:
        run("import_actuals", write(tmp_path, bad))
    text = str(exc.value)
    for where in (
        "line 7, column month",
        "line 7, column product_family",
        "line 8, column value_stream",
        "line 8, column value",
    ):
        assert where in text, (where, text)
    assert text.count("line 7, column month") == 1  # the reader's word, not twice
    assert not Actual.objects.exists()


def test_an_empty_value_clears_the_fact_and_says_so(tmp_path, family_a):
    run("import_actuals", write(tmp_path, GOOD))
    cleared = HEADER + "A,,2026-09,headcount,\n"
    assert "1 deleted" in run("import_actuals", write(tmp_path, cleared, "b.csv"))
    assert not Actual.objects.filter(measure="headcount").exists()


def test_xlsx_is_accepted(tmp_path, family_a):
    wb = openpyxl.Workbook()
    ws = wb.active
    for line in GOOD.strip().splitlines():
        ws.append(line.split(","))
    path = tmp_path / "a.xlsx"
    wb.save(path)
    assert "5 added" in run("import_actuals", str(path))
