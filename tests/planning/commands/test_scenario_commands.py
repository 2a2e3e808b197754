"""``import_plan --scenario``, ``export_plan --scenario`` and ``adopt_scenario``."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from planning.models import PlanValueChange, Scenario, ScenarioCell, StepStatus
from planning.services.approval import cycle_approve

pytestmark = pytest.mark.django_db
HEADER = "value_stream,product_family,month,measure,value\n"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _value(text: str, family: str, month: str, measure: str) -> float:
    for row in csv.DictReader(io.StringIO(text)):
        if (row["product_family"], row["month"], row["measure"]) == (family, month, measure):
            return float(row["value"])
    raise AssertionError("no such row")


def test_import_creates_the_scenario_then_export_and_adopt(plan, tmp_path):
    plan_before = run("export_plan", "--cycle", "2027-01")
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "A,A-1,2027-01,demand,444\n")
    out = run("import_plan", str(path), "--cycle", "2027-01", "--scenario", "push")
    assert "Scenario push created from the plan" in out
    assert Scenario.objects.filter(name="push").exists()
    # Importing again changes nothing and creates nothing.
    again = run("import_plan", str(path), "--cycle", "2027-01", "--scenario", "push")
    assert "created" not in again and Scenario.objects.count() == 1
    exported = run("export_plan", "--cycle", "2027-01", "--scenario", "push")
    assert _value(exported, "A-1", "2027-01", "demand") == 444
    assert run("export_plan", "--cycle", "2027-01") == plan_before
    adopted = run("adopt_scenario", "--cycle", "2027-01", "push")
    assert "1 cell(s)" in adopted
    assert run("export_plan", "--cycle", "2027-01") == exported
    change = PlanValueChange.objects.get(cycle=plan, source="adopt")
    assert change.note == "adopted from scenario push" and change.new_value == 444
    assert "0 cell(s) and 0 price(s)" in run("adopt_scenario", "--cycle", "2027-01", "push")


def test_a_rejected_file_leaves_no_scenario(plan, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "A,A-1,2027-01,demand,lots\n")
    with pytest.raises(CommandError, match="line 2"):
        run("import_plan", str(path), "--cycle", "2027-01", "--scenario", "push")
    assert not Scenario.objects.exists()
    assert not ScenarioCell.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export_plan", "--cycle", "2027-01", "--scenario", "nope"), "no scenario 'nope'"),
        (("export_plan", "--cycle", "2027-01", "--scenario", "Bad Name"), "not a scenario name"),
        (("adopt_scenario", "--cycle", "2027-01", "nope"), "no scenario 'nope'"),
        (("adopt_scenario", "--cycle", "2099-01", "x"), "There is no cycle 2099-01"),
    ],
)
def test_clear_errors(plan, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_bad_name_on_import(plan, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "A,A-1,2027-01,demand,1\n")
    with pytest.raises(CommandError, match="not a scenario name"):
        run("import_plan", str(path), "--cycle", "2027-01", "--scenario", "UPPER")


def test_frozen_cycle_refuses_scenario_import_and_adopt(plan, executive, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "A,A-1,2027-01,demand,1\n")
    run("import_plan", str(path), "--cycle", "2027-01", "--scenario", "kept")
    plan.steps.update(status=StepStatus.DONE)
    cycle_approve(cycle=plan, user=executive)
    with pytest.raises(CommandError, match="frozen"):
        run("import_plan", str(path), "--cycle", "2027-01", "--scenario", "kept")
    with pytest.raises(CommandError, match="frozen"):
        run("import_plan", str(path), "--cycle", "2027-01", "--scenario", "new-one")
    with pytest.raises(CommandError, match="frozen"):
        run("adopt_scenario", "--cycle", "2027-01", "kept")
