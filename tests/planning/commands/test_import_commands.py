"""The commands end to end, including SOFP.md's worked example through the real path."""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from planning.models import PlanningCycle, PlanValue
from tests.factories import CycleFactory
from tests.worked_example import example_dir

REPO_ROOT = Path(__file__).resolve().parents[3]
HEADER = "value_stream,product_family,month,measure,value\n"


@pytest.fixture
def example() -> Path:
    return example_dir()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def read_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_worked_example_through_the_commands(example, tmp_path):
    assert "4 added" in run("import_master", str(example / "master.csv"))
    out = run("import_plan", str(example / "plan.csv"), "--cycle", "2027-01")
    assert "Cycle 2027-01 created with its five steps." in out
    assert "274 added, 0 changed, 0 unchanged" in out
    exported = run("export_plan", "--cycle", "2027-01")
    got = {
        (r["value_stream"], r["product_family"], r["month"], r["measure"]): r["value"]
        for r in read_rows(exported)
    }
    expected = read_rows((example / "expected.csv").read_text(encoding="utf-8"))
    assert len(expected) > 400
    for row in expected:
        key = (row["value_stream"], row["product_family"], row["month"], row["measure"])
        assert key in got, key
        if row["value"] == "":
            assert got[key] == "", key
        else:
            assert math.isclose(float(got[key]), float(row["value"]), abs_tol=1e-6), key
    # the input rows come out as they went in
    plan = read_rows((example / "plan.csv").read_text(encoding="utf-8"))
    for row in plan:
        key = (row["value_stream"], row["product_family"], row["month"], row["measure"])
        assert math.isclose(float(got[key]), float(row["value"]), abs_tol=1e-9), key
    # xlsx carries the same numbers
    target = tmp_path / "plan.xlsx"
    run("export_plan", "--cycle", "2027-01", "--format", "xlsx", "--output", str(target))
    sheet = openpyxl.load_workbook(target, read_only=True).active
    cells = {
        (r[0] or "", r[1] or "", r[2], r[3]): r[4]
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    for row in expected:
        key = (row["value_stream"], row["product_family"], row["month"], row["measure"])
        if row["value"]:
            assert math.isclose(cells[key], float(row["value"]), abs_tol=1e-6), key
        else:
            assert cells[key] is None


@pytest.mark.django_db
def test_reimporting_the_example_reports_all_unchanged(example):
    run("import_master", str(example / "master.csv"))
    run("import_plan", str(example / "plan.csv"), "--cycle", "2027-01")
    again = run("import_plan", str(example / "plan.csv"), "--cycle", "2027-01")
    assert "0 added, 0 changed, 274 unchanged" in again
    assert "created" not in again


@pytest.mark.django_db
def test_import_plan_lists_every_problem_and_writes_nothing(family_a, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "A,A-1,2027-01,demand,abc\nZZ,A-1,2027-01,demand,1\nA,A-1,2027-01,production,2\n"
    )
    with pytest.raises(CommandError) as info:
        run("import_plan", str(bad), "--cycle", "2027-01")
    message = str(info.value)
    assert "2 problem(s); nothing was saved." in message
    assert "  line 2, column value: 'abc' is not a number" in message
    assert "  line 3: unknown value stream 'ZZ'" in message
    assert not PlanningCycle.objects.exists()  # the cycle it would have created is not kept
    assert PlanValue.objects.count() == 0


@pytest.mark.django_db
def test_import_plan_dry_run_writes_nothing(family_a, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "A,A-1,2027-01,demand,1\n")
    out = run("import_plan", str(good), "--cycle", "2027-01", "--dry-run")
    assert "Cycle 2027-01 would be created" in out and "1 added" in out
    assert not PlanningCycle.objects.exists()


@pytest.mark.django_db
def test_import_plan_into_a_frozen_cycle_is_refused(family_a, tmp_path):
    CycleFactory(month=__import__("datetime").date(2027, 1, 1), status="approved")
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "A,A-1,2027-01,demand,1\n")
    with pytest.raises(CommandError, match="approved and frozen"):
        run("import_plan", str(good), "--cycle", "2027-01")
    assert PlanValue.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import_plan", "missing.csv", "--cycle", "2027-01"), "No such file: missing.csv"),
        (("export_plan", "--cycle", "2027-13"), "is not a month"),
        (("export_plan", "--cycle", "2030-01"), "There is no cycle 2030-01."),
        # every command's --cycle is read by planning.management.cycle_option
        (("adopt_scenario", "--cycle", "2027-13", "x"), "is not a month"),
        (("import_assumptions", "a.csv", "--cycle", "2030-01"), "There is no cycle 2030-01."),
        (("import_assumptions", "a.csv", "--cycle", "Jan"), "is not a month"),
    ],
)
def test_command_errors_are_plain(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.django_db
def test_import_plan_bad_cycle_argument(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "A,A-1,2027-01,demand,1\n")
    with pytest.raises(CommandError, match="is not a month"):
        run("import_plan", str(good), "--cycle", "January")


def test_xlsx_to_stdout_is_refused(cycle):
    with pytest.raises(CommandError, match="give --output"):
        run("export_plan", "--cycle", "2027-01", "--format", "xlsx")


def test_format_follows_the_output_suffix(cycle, tmp_path):
    target = tmp_path / "out.xlsx"
    run("export_plan", "--cycle", "2027-01", "--output", str(target))
    assert target.read_bytes()[:2] == b"PK"


@pytest.mark.django_db
def test_import_master_rejects_a_bad_file(tmp_path):
    bad = tmp_path / "master.csv"
    bad.write_bytes(b"value_stream,name\n\xff\n")
    with pytest.raises(CommandError, match="not UTF-8"):
        run("import_master", str(bad))


@pytest.mark.slow
def test_failing_command_exits_non_zero_without_a_traceback(tmp_path):
    """As an operator runs it: a separate process on its own database."""
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "A,A-1,2027-13,demand,1\n")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SOFP_VAR_DIR": str(tmp_path / "var"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "import_plan", str(bad), "--cycle", "2027-01"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "line 2, column month: '2027-13' is not a month" in done.stderr
