"""Scenarios: created from the plan, edited through the one write path, never changing
the plan; adopted into it cell by cell; frozen with the cycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from planning.engine import export_frame
from planning.models import (
    AuditEvent,
    CycleFamily,
    PlanValue,
    PlanValueChange,
    Scenario,
    ScenarioCell,
    ScenarioStatus,
    StepStatus,
)
from planning.selectors.plans import cycle_export_frame, cycle_projection
from planning.selectors.scenarios import cycle_with_scenario, scenario_compare, scenario_get
from planning.services.approval import cycle_approve
from planning.services.cycle_master import cycle_master_update
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.scenarios import (
    ScenarioExists,
    scenario_adopt,
    scenario_create,
    scenario_delete,
)
from sofp.errors import FrozenCycleError, NotFound, PermissionDenied, ValidationFailed
from tests.conftest import M, month

pytestmark = pytest.mark.django_db


def _plan_export(cycle) -> str:
    return cycle_export_frame(cycle=cycle).to_csv(index=False)


def _demand(view, family="A-1", i=0) -> float:
    fam = cycle_projection(cycle=view).family
    row = fam[(fam["product_family"] == family) & (fam["month"] == fam["month"].min() + i)]
    return float(row["demand"].iloc[0])


def test_create_copies_cells_and_master_copy(plan, executive):
    plan_cells = PlanValue.objects.filter(cycle=plan, value__isnull=False).count()
    scenario = scenario_create(cycle=plan, name="second-shift", description="Two", user=executive)
    assert ScenarioCell.objects.filter(scenario=scenario).count() == plan_cells
    assert CycleFamily.all_objects.filter(scenario=scenario).count() == (
        CycleFamily.objects.filter(cycle=plan).count()
    )
    # The plan-only readers do not see the copies.
    assert PlanValue.objects.filter(cycle=plan).count() == plan_cells
    # The same projection from the copy.
    view = cycle_with_scenario(cycle=plan, name="second-shift")
    assert export_frame(cycle_projection(cycle=view)).equals(
        export_frame(cycle_projection(cycle=plan))
    )
    assert AuditEvent.objects.filter(action="scenario_create", new="second-shift").exists()


@pytest.mark.parametrize("name", ["", "Second", "-x", "a" * 41, "a_b", "a b", "ä"])
def test_bad_names_are_refused(plan, executive, name):
    with pytest.raises(ValidationFailed) as exc:
        scenario_create(cycle=plan, name=name, user=executive)
    assert exc.value.problems[0].code == "bad_scenario_name"
    assert not Scenario.objects.exists()


def test_a_reserved_name_is_refused(plan, executive):
    with pytest.raises(ValidationFailed) as exc:
        scenario_create(cycle=plan, name="compare", user=executive)
    assert exc.value.problems[0].code == "reserved_scenario_name"
    assert not Scenario.objects.exists()


def test_the_database_refuses_a_bad_name_too(plan):
    with pytest.raises(IntegrityError), transaction.atomic():
        Scenario.objects.create(cycle=plan, name="Not Valid")


def test_a_name_is_taken_once_per_cycle(plan, executive):
    scenario_create(cycle=plan, name="x", user=executive)
    with pytest.raises(ScenarioExists):
        scenario_create(cycle=plan, name="x", user=executive)


def test_who_creates(plan, planner_a, sales_user, finance_user, manager_a):
    for user in (planner_a, sales_user, finance_user):
        with pytest.raises(PermissionDenied):
            scenario_create(cycle=plan, name="x", user=user)
    assert scenario_create(cycle=plan, name="x", user=manager_a).created_by == manager_a


def test_frozen_cycle_refuses_a_scenario(frozen_cycle, executive):
    with pytest.raises(FrozenCycleError):
        scenario_create(cycle=frozen_cycle, name="x", user=executive)


def test_unknown_scenario_is_a_clear_404(plan, executive):
    scenario_create(cycle=plan, name="known", user=executive)
    with pytest.raises(NotFound, match=r"no scenario 'nope'\. Its scenarios: known"):
        scenario_get(cycle=plan, name="nope")


def test_a_scenario_edit_never_changes_the_plan(plan, executive, planner_a):
    before = _plan_export(plan)
    plan_history = PlanValueChange.objects.filter(cycle=plan).count()
    scenario = scenario_create(cycle=plan, name="build-ahead", user=executive)
    view = plan.in_scenario(scenario)
    result = plan_values_upsert(
        cycle=view,
        cells=[
            CellInput("A", "A-1", M, "demand", Decimal("500")),
            CellInput("A", "A-1", month(30 % 18), "production", None),
        ],
        user=planner_a,
    )
    assert result.changed == 1 and result.deleted == 1
    assert _demand(view) == 500
    assert _demand(plan) == 100
    assert _plan_export(plan) == before
    assert PlanValueChange.objects.filter(cycle=plan).count() == plan_history
    assert PlanValueChange.all_objects.filter(scenario=scenario).count() == 2


def test_scenario_writes_follow_the_plan_rights(plan, executive, planner_a):
    scenario = scenario_create(cycle=plan, name="x", user=executive)
    with pytest.raises(PermissionDenied):
        plan_values_upsert(
            cycle=plan.in_scenario(scenario),
            cells=[CellInput("B", "B-1", M, "demand", Decimal("1"))],
            user=planner_a,
        )


def test_actual_sales_are_not_part_of_a_scenario(plan, executive, admin_user):
    scenario = scenario_create(cycle=plan, name="x", user=executive)
    with pytest.raises(ValidationFailed) as exc:
        plan_values_upsert(
            cycle=plan.in_scenario(scenario),
            cells=[CellInput("A", "A-1", M, "actual_sales", Decimal("1"))],
            user=admin_user,
        )
    assert exc.value.problems[0].code == "fact_in_scenario"


def test_price_change_goes_to_the_scenario_copy_only(plan, executive, finance_user):
    scenario = scenario_create(cycle=plan, name="price-up", user=executive)
    view = plan.in_scenario(scenario)
    cycle_master_update(
        cycle=view, user=finance_user, changes=[{"product_family": "A-1", "unit_price": "150"}]
    )
    assert CycleFamily.objects.get(cycle=plan, product_family__code="A-1").unit_price == 100
    assert CycleFamily.all_objects.get(
        scenario=scenario, product_family__code="A-1"
    ).unit_price == (150)
    revenue = cycle_projection(cycle=view).stream
    plan_revenue = cycle_projection(cycle=plan).stream
    a_first = (revenue["value_stream"] == "A") & (revenue["month"] == revenue["month"].min())
    assert float(revenue[a_first]["revenue"].iloc[0]) == 150 * 100
    assert float(plan_revenue[a_first]["revenue"].iloc[0]) == 100 * 100


def test_adopt_makes_the_plan_equal_and_again_changes_nothing(plan, executive, finance_user):
    scenario = scenario_create(cycle=plan, name="more", user=executive)
    view = plan.in_scenario(scenario)
    plan_values_upsert(
        cycle=view,
        cells=[
            CellInput("A", "A-1", M, "demand", Decimal("222")),
            CellInput("B", "B-1", month(1), "production", None),
            CellInput("", "", month(2), "sustaining_cost", Decimal("7")),
        ],
        user=None,
    )
    cycle_master_update(
        cycle=view, user=finance_user, changes=[{"product_family": "B-1", "unit_price": "99"}]
    )
    result = scenario_adopt(scenario=scenario, user=executive)
    assert (result.cells, result.prices) == (3, 1)
    assert _plan_export(plan) == cycle_export_frame(cycle=view).to_csv(index=False)
    adopted = PlanValueChange.objects.filter(cycle=plan, source="adopt")
    assert adopted.count() == 3
    assert set(adopted.values_list("note", flat=True)) == {"adopted from scenario more"}
    assert set(adopted.values_list("changed_by", flat=True)) == {executive.pk}
    again = scenario_adopt(scenario=scenario, user=executive)
    assert (again.cells, again.prices) == (0, 0)
    assert PlanValueChange.objects.filter(cycle=plan, source="adopt").count() == 3


def test_a_manager_adopts_only_his_streams_cells(plan, executive, manager_a):
    scenario = scenario_create(cycle=plan, name="mixed", user=executive)
    plan_values_upsert(
        cycle=plan.in_scenario(scenario),
        cells=[
            CellInput("A", "A-1", M, "demand", Decimal("1")),
            CellInput("B", "B-1", M, "demand", Decimal("2")),
            CellInput("", "", M, "sustaining_cost", Decimal("3")),
        ],
        user=None,
    )
    result = scenario_adopt(scenario=scenario, user=manager_a)
    assert result.cells == 1 and result.prices == 0
    assert _demand(plan, "A-1") == 1 and _demand(plan, "B-1") == 100


def test_planners_and_finance_do_not_adopt(plan, executive, planner_a, finance_user):
    scenario = scenario_create(cycle=plan, name="x", user=executive)
    for user in (planner_a, finance_user):
        with pytest.raises(PermissionDenied):
            scenario_adopt(scenario=scenario, user=user)


def test_approval_freezes_the_scenarios(plan, executive, planner_a):
    scenario = scenario_create(cycle=plan, name="x", user=executive)
    plan.steps.update(status=StepStatus.DONE)
    cycle_approve(cycle=plan, user=executive)
    scenario.refresh_from_db()
    assert scenario.status == ScenarioStatus.FROZEN
    plan.refresh_from_db()
    with pytest.raises(FrozenCycleError):
        plan_values_upsert(
            cycle=plan.in_scenario(scenario),
            cells=[CellInput("A", "A-1", M, "demand", Decimal("1"))],
            user=planner_a,
        )
    with pytest.raises(FrozenCycleError):
        scenario_adopt(scenario=scenario, user=executive)
    with pytest.raises(FrozenCycleError):
        scenario_delete(scenario=scenario, user=executive)


def test_delete_removes_cells_and_keeps_the_plan(plan, executive, manager_a, planner_a):
    before = _plan_export(plan)
    scenario = scenario_create(cycle=plan, name="gone", user=manager_a)
    with pytest.raises(PermissionDenied):
        scenario_delete(scenario=scenario, user=planner_a)
    scenario_delete(scenario=scenario, user=manager_a)
    assert not Scenario.objects.exists()
    assert not ScenarioCell.objects.exists()
    assert not CycleFamily.all_objects.filter(scenario__isnull=False).exists()
    assert _plan_export(plan) == before


def test_compare_lists_deltas_and_exceptions(plan, executive):
    scenario = scenario_create(cycle=plan, name="short", user=executive)
    # Demand far above production: shortages appear in the scenario only.
    plan_values_upsert(
        cycle=plan.in_scenario(scenario),
        cells=[CellInput("A", "A-1", month(i), "demand", Decimal("1000")) for i in range(3)],
        user=None,
    )
    comparison = scenario_compare(cycle=plan, names=["short"])
    demand = comparison.box.set_index("measure").loc["demand"]
    assert demand["short Δ"] == pytest.approx(3 * 1000 - (100 + 101 + 102))
    added = comparison.exceptions["short"]["added"]
    assert any(e["kind"] == "shortage" and e["product_family"] == "A-1" for e in added)
    assert comparison.exceptions["short"]["removed"] == [] or all(
        e["product_family"] != "A-1" for e in comparison.exceptions["short"]["removed"]
    )
