"""The planner's grid (issue 6) refuses other streams, frozen cycles and anonymous users."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from planning.models import PlanValue
from tests.factories import CycleFactory, PlanValueFactory

pytestmark = pytest.mark.django_db
M = "2027-01"


def _save(client, url: str, family: str, value: str, month: str = M):
    body = {"cells": [{"family": family, "month": month, "measure": "demand", "value": value}]}
    return client.post(url, json.dumps(body), content_type="application/json")


def test_planner_cannot_open_another_streams_grid_or_its_data(client, world, planner_a):
    client.force_login(planner_a)
    assert client.get(f"/cycles/{M}/grid/A/").status_code == 200
    assert client.get(f"/cycles/{M}/grid/B/").status_code == 403
    data = client.get(f"/cycles/{M}/grid/B/data/")
    assert data.status_code == 403
    assert "22" not in data.content.decode()
    history = client.get(f"/cycles/{M}/grid/B/history/?family=B-1&month={M}&measure=demand")
    assert history.status_code == 403


def test_planner_cannot_save_into_another_stream(client, world, planner_a):
    client.force_login(planner_a)
    response = _save(client, f"/cycles/{M}/grid/B/save/", "B-1", "999")
    assert response.status_code == 403
    assert PlanValue.objects.get(product_family__code="B-1").value == Decimal("22")


def test_a_family_of_another_stream_cannot_be_smuggled_through_ones_own_grid(
    client, world, planner_a
):
    client.force_login(planner_a)
    response = _save(client, f"/cycles/{M}/grid/A/save/", "B-1", "999")
    assert response.status_code in (400, 403)
    assert PlanValue.objects.get(product_family__code="B-1").value == Decimal("22")


def test_planner_cannot_open_the_company_page(client, world, planner_a):
    client.force_login(planner_a)
    assert client.get(f"/cycles/{M}/company/").status_code == 403
    assert client.get(f"/cycles/{M}/company/data/").status_code == 403


def test_nobody_saves_into_a_frozen_cycle(client, stream_a, family_a, planner_a, executive):
    frozen = CycleFactory(month=dt.date(2026, 6, 1), status="approved")
    PlanValueFactory(cycle=frozen, product_family=family_a, value=Decimal("5"))
    for user in (planner_a, executive):
        client.force_login(user)
        response = _save(client, "/cycles/2026-06/grid/A/save/", "A-1", "6", month="2026-06")
        assert response.status_code == 409
        assert response.json()["frozen"] is True
    assert PlanValue.objects.get(cycle=frozen).value == Decimal("5")


def test_anonymous_users_get_401_json_not_data(client, world):
    response = client.get(f"/cycles/{M}/grid/A/data/")
    assert response.status_code == 401
    assert _save(client, f"/cycles/{M}/grid/A/save/", "A-1", "1").status_code == 401
