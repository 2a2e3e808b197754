"""Scenario pages through the Django client: the grid with ``?scenario=``, the scenarios
page (create, adopt, delete, each "no"), the comparison on /review/ and step 3."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from planning.models import PlanValue, PlanValueChange, Scenario, StepStatus
from planning.services.approval import cycle_approve
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.scenarios import scenario_create
from tests.conftest import M
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/cycles/2027-01/scenarios/"


@pytest.fixture
def scenario(plan, executive):
    return scenario_create(
        cycle=plan, name="second-shift", description="Two shifts", user=executive
    )


def login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def save(client, url, cells):
    return client.post(url, json.dumps({"cells": cells}), content_type="application/json")


def _plan_demand(plan):
    return PlanValue.objects.get(
        cycle=plan, product_family__code="A-1", measure="demand", month=M
    ).value


def test_grid_shows_the_scenario_badge_and_switcher(client, scenario, planner_a):
    page = login(client, planner_a).get("/cycles/2027-01/grid/A/?scenario=second-shift")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="scenario-badge"' in html and "Scenario · second-shift" in html
    assert "data/?scenario=second-shift" in html and "save/?scenario=second-shift" in html
    plain = client.get("/cycles/2027-01/grid/A/").content.decode()
    assert 'data-testid="scenario-badge"' not in plain
    assert 'data-testid="scenario-second-shift"' in plain  # the switcher offers it


def test_grid_save_in_a_scenario_leaves_the_plan(client, scenario, planner_a):
    api = login(client, planner_a)
    res = save(
        api,
        "/cycles/2027-01/grid/A/save/?scenario=second-shift",
        [{"family": "A-1", "measure": "demand", "month": "2027-01", "value": "555", "version": 1}],
    )
    assert res.status_code == 200, res.content
    assert _plan_demand(scenario.cycle) == 100
    data = api.get("/cycles/2027-01/grid/A/data/?scenario=second-shift").json()
    row = next(r for r in data["rows"] if r["id"] == "A-1|demand")
    assert row["values"]["m2027-01"] == 555
    history = api.get(
        "/cycles/2027-01/grid/A/history/?scenario=second-shift&family=A-1&measure=demand&month=2027-01"
    ).json()
    assert history["changes"][0]["new"] == "555"
    plan_history = api.get(
        "/cycles/2027-01/grid/A/history/?family=A-1&measure=demand&month=2027-01"
    ).json()
    assert all(c["new"] != "555" for c in plan_history["changes"])
    # The plan's live feed does not carry scenario edits.
    live = api.get("/cycles/2027-01/grid/A/live/?after=0").json()
    assert all(c["value"] != 555 for c in live["cells"])


def test_grid_unknown_scenario_is_a_404(client, plan, planner_a):
    page = login(client, planner_a).get("/cycles/2027-01/grid/A/?scenario=nope")
    assert page.status_code == 404


def test_create_on_the_page_opens_the_grid(client, plan, manager_a):
    res = login(client, manager_a).post(PAGE, {"name": "build-ahead", "description": "March"})
    assert res.status_code == 302
    assert res["Location"] == "/cycles/2027-01/grid/A/?scenario=build-ahead"
    assert Scenario.objects.get(name="build-ahead").created_by == manager_a


def test_bad_name_on_the_page_is_explained(client, plan, executive):
    res = login(client, executive).post(PAGE, {"name": "Build Ahead"})
    assert res.status_code == 400
    assert "is not a scenario name" in res.content.decode()
    assert not Scenario.objects.exists()


def test_planner_sees_no_create_form_and_may_not_post(client, plan, planner_a):
    api = login(client, planner_a)
    assert 'data-testid="scenario-create"' not in api.get(PAGE).content.decode()
    assert api.post(PAGE, {"name": "x"}).status_code == 403
    assert not Scenario.objects.exists()


def test_adopt_and_delete_buttons(client, scenario, executive, planner_a):
    plan_values_upsert(
        cycle=scenario.cycle.in_scenario(scenario),
        cells=[CellInput("A", "A-1", M, "demand", Decimal("321"))],
        user=None,
    )
    api = login(client, planner_a)
    assert 'data-testid="adopt-second-shift"' not in api.get(PAGE).content.decode()
    api.post(f"{PAGE}second-shift/adopt/")
    assert _plan_demand(scenario.cycle) == 100  # a planner may not adopt
    api.post(f"{PAGE}second-shift/delete/")
    assert Scenario.objects.filter(name="second-shift").exists()
    boss = login(client, executive)
    page = boss.get(PAGE).content.decode()
    assert 'data-testid="adopt-second-shift"' in page
    res = boss.post(f"{PAGE}second-shift/adopt/", follow=True)
    assert "1 cell(s)" in res.content.decode()
    assert _plan_demand(scenario.cycle) == 321
    assert PlanValueChange.objects.get(source="adopt").note == "adopted from scenario second-shift"
    history = boss.get(
        "/cycles/2027-01/grid/A/history/?family=A-1&measure=demand&month=2027-01"
    ).json()
    assert history["changes"][0]["source"] == "adopted from scenario second-shift"
    again = boss.post(f"{PAGE}second-shift/adopt/", follow=True)
    assert "nothing changed" in again.content.decode()
    boss.post(f"{PAGE}second-shift/delete/")
    assert not Scenario.objects.exists()


def test_review_and_reconcile_compare(client, scenario, executive, manager_a):
    plan_values_upsert(
        cycle=scenario.cycle.in_scenario(scenario),
        cells=[CellInput("A", "A-1", M, "demand", Decimal("5000"))],
        user=None,
    )
    boss = login(client, executive)
    review = boss.get("/review/?compare=second-shift").content.decode()
    assert 'data-testid="scenario-table"' in review
    assert 'data-testid="scenario-exceptions-second-shift"' in review
    assert "cmp-value_stream_profit" in review  # the overlaid chart
    assert "+490,000" in review  # (5000 − 100) units × 100 revenue
    step3 = login(client, manager_a).get("/cycles/2027-01/reconcile/?compare=second-shift")
    assert step3.status_code == 200 and 'data-testid="scenario-table"' in step3.content.decode()
    unknown = boss.get("/review/?compare=nope")
    assert unknown.status_code == 404


def test_frozen_cycle_page_is_read_only(client, scenario, plan, executive):
    plan.steps.update(status=StepStatus.DONE)
    cycle_approve(cycle=plan, user=executive)
    page = login(client, executive).get(PAGE).content.decode()
    assert 'data-testid="scenario-create"' not in page
    assert 'data-testid="adopt-second-shift"' not in page
    assert client.post(PAGE, {"name": "late"}).status_code == 409
    grid = client.get("/cycles/2027-01/grid/A/?scenario=second-shift").content.decode()
    assert "frozen" in grid


def test_upload_and_download_in_a_scenario(client, scenario, planner_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = login(client, planner_a)
    data = b"value_stream,product_family,month,measure,value\nA,A-1,2027-01,demand,777\n"
    url = "/cycles/2027-01/upload/?scenario=second-shift"
    res = api.post(url, {"action": "preview", "file": SimpleUploadedFile("s.csv", data)})
    assert res.status_code == 200 and "second-shift" in res.content.decode()
    res = api.post(url, {"action": "confirm", "token": res.context["token"]})
    assert res.status_code == 302 and res["Location"].endswith("?scenario=second-shift")
    assert _plan_demand(scenario.cycle) == 100
    down = api.get("/cycles/2027-01/download/?format=csv&scenario=second-shift")
    assert down["Content-Disposition"].endswith('sofp-plan-2027-01-second-shift.csv"')
    assert "A,A-1,2027-01,demand,777" in down.content.decode()
    plain = api.get("/cycles/2027-01/download/?format=csv").content.decode()
    assert "A,A-1,2027-01,demand,777" not in plain


def test_review_of_the_plan_ignores_scenario_edits(client, scenario, executive):
    from planning.selectors.plans import cycle_analysis, projections_forget

    before = cycle_analysis(cycle=scenario.cycle)
    box_before = before.projection.stream.to_csv()
    exceptions_before = before.exceptions.to_csv()
    plan_values_upsert(
        cycle=scenario.cycle.in_scenario(scenario),
        cells=[CellInput("A", "A-1", M, "demand", Decimal("9999"))],
        user=None,
    )
    projections_forget()
    after = cycle_analysis(cycle=scenario.cycle)
    assert after.projection.stream.to_csv() == box_before
    assert after.exceptions.to_csv() == exceptions_before
    review = login(client, executive).get("/review/").content.decode()
    assert "9,999" not in review


def test_prices_page_in_a_scenario_changes_its_copy_only(client, scenario, finance_user, planner_a):
    from planning.models import CycleFamily

    body = {
        "unit_price:A-1": "130",
        "base-unit_price:A-1": "100",
        "unit_material_cost:A-1": "40",
        "base-unit_material_cost:A-1": "40",
    }
    url = "/cycles/2027-01/prices/?scenario=second-shift"
    assert login(client, planner_a).post(url, body).status_code == 403
    page = login(client, finance_user).get(url).content.decode()
    assert 'data-testid="scenario-badge"' in page
    res = client.post(url, body)
    assert res.status_code == 302 and res["Location"].endswith("?scenario=second-shift")
    plan_copy = CycleFamily.objects.get(cycle=scenario.cycle, product_family__code="A-1")
    own = CycleFamily.all_objects.get(scenario=scenario, product_family__code="A-1")
    assert (plan_copy.unit_price, own.unit_price) == (100, 130)
