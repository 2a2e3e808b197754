"""The API says no where the rules say no (issue 8 endpoints, token authentication)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from planning.models import PlanningCycle, PlanValue
from tests.factories import CycleFactory, PlanValueFactory, UserFactory

pytestmark = pytest.mark.django_db
M = "2027-01"


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _streams(rows) -> set[str]:
    return {r.get("value_stream") for r in rows if r.get("value_stream")}


def test_planner_lists_only_their_streams_plan_values(world, planner_a):
    api = _api(planner_a)
    body = api.get(f"/api/v1/cycles/{M}/plan-values/").json()
    assert _streams(body["results"]) == {"A"}
    asked = api.get(f"/api/v1/cycles/{M}/plan-values/?value_stream=B")
    assert asked.status_code in (403, 404) or asked.json()["results"] == []


def test_planner_cannot_download_another_streams_plan_as_a_file(world, planner_a):
    api = _api(planner_a)
    for fmt in ("csv", "json"):
        response = api.get(f"/api/v1/cycles/{M}/export/?format={fmt}")
        assert response.status_code == 200
        text = response.content.decode()
        assert "B-1" not in text and ",B," not in text


def test_planner_cannot_read_another_streams_projections(world, planner_a):
    api = _api(planner_a)
    streams = api.get(f"/api/v1/cycles/{M}/projections/streams/").json()
    rows = streams["results"] if isinstance(streams, dict) else streams
    assert _streams(rows) <= {"A"}
    assert api.get(f"/api/v1/cycles/{M}/projections/company/").status_code == 403


def test_planner_cannot_write_another_streams_cells_and_nothing_changes(world, planner_a):
    response = _api(planner_a).post(
        f"/api/v1/cycles/{M}/plan-values/bulk/",
        [{"value_stream": "B", "product_family": "B-1", "month": M, "measure": "demand",
          "value": "999"}],
        format="json",
    )  # fmt: skip
    assert response.status_code == 403
    assert PlanValue.objects.get(product_family__code="B-1").value == Decimal("22")


def test_nobody_changes_a_frozen_cycle_through_the_api(stream_a, family_a, planner_a, executive):
    frozen = CycleFactory(month=dt.date(2026, 6, 1), status="approved")
    PlanValueFactory(cycle=frozen, product_family=family_a, value=Decimal("5"))
    for user in (planner_a, executive):
        response = _api(user).post(
            "/api/v1/cycles/2026-06/plan-values/bulk/",
            [{"value_stream": "A", "product_family": "A-1", "month": "2026-06",
              "measure": "demand", "value": "6"}],
            format="json",
        )  # fmt: skip
        assert response.status_code == 409, user
    assert PlanValue.objects.get(cycle=frozen).value == Decimal("5")


@pytest.mark.parametrize("role", [None, "finance", "sales"])
def test_only_executives_approve_through_the_api(world, role):
    user = UserFactory(username=f"u_{role}", roles=[role] if role else [])
    response = _api(user).post(
        f"/api/v1/cycles/{M}/approve/", {"override_reason": "ship it"}, format="json"
    )
    assert response.status_code == 403
    assert not PlanningCycle.objects.get(pk=world.pk).is_frozen


def test_anonymous_and_bad_tokens_get_401(world):
    assert APIClient().get(f"/api/v1/cycles/{M}/plan-values/").status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.get(f"/api/v1/cycles/{M}/plan-values/").status_code == 401
