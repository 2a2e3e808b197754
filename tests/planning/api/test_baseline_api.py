"""The baseline and forecast value added over the API: values, fits, runs, FVA, refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.models import BaselineRun
from planning.services.plan_values import CellInput, plan_values_upsert

C = "/api/v1/cycles/2027-01"


def _baseline(cycle, value="42"):
    plan_values_upsert(
        cycle=cycle,
        cells=[CellInput("A", "A-1", dt.date(2027, 1, 1), "statistical_baseline", Decimal(value))],
        user=None,
        source="baseline",
    )


def test_plan_values_and_export_carry_the_baseline(client_for, admin_user, plan):
    _baseline(plan)
    api = client_for(admin_user)
    body = api.get(f"{C}/plan-values/?measure=statistical_baseline").json()
    assert [(r["product_family"], r["value"]) for r in body["results"]] == [("A-1", "42.000000")]
    rows = api.get(f"{C}/export/?format=json").json()
    assert {
        "value_stream": "A",
        "product_family": "A-1",
        "month": "2027-01",
        "measure": "statistical_baseline",
        "value": "42.000000",
    } in rows


def test_bulk_refuses_to_write_the_baseline(client_for, admin_user, plan):
    api = client_for(admin_user)
    row = {
        "value_stream": "A",
        "product_family": "A-1",
        "month": "2027-01",
        "measure": "statistical_baseline",
        "value": "5",
    }
    response = api.post(f"{C}/plan-values/bulk/", [row], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "read_only_measure"


def test_baseline_endpoint_lists_fits_and_post_starts_a_run(client_for, sales_user, plan):
    api = client_for(sales_user)
    assert api.get(f"{C}/baseline/").json() == {"run": None, "fits": []}
    response = api.post(f"{C}/baseline/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued" and response.json()["families_total"] == 2
    assert BaselineRun.objects.filter(cycle=plan).count() == 1


def test_baseline_post_is_refused_for_executives_and_frozen_cycles(
    client_for, executive, sales_user, plan
):
    assert client_for(executive).post(f"{C}/baseline/").status_code == 403
    plan.status, plan.approved_at = "approved", dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    plan.save()
    assert client_for(sales_user).post(f"{C}/baseline/").status_code == 409


def test_fva_endpoint_answers_empty_lists_without_history(client_for, executive, plan):
    body = client_for(executive).get(f"{C}/fva/").json()
    assert body == {"monthly": [], "window": []}


@pytest.mark.parametrize("path", ["fva/", "baseline/"])
def test_anonymous_gets_401(client_for, plan, path):
    assert client_for(None).get(f"{C}/{path}").status_code == 401
