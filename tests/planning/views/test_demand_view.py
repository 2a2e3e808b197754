"""The demand view's data: demand only, families × horizon months, with the last
approved plan's demand as a read-only reference row per family."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import PASSWORD, CycleFactory, ProductFamilyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demand_view_rows_reference_and_rights(client, stream_a, stream_b, planner_a):
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    old = CycleFactory(month=dt.date(2026, 12, 1))
    plan_values_upsert(
        cycle=old,
        cells=[CellInput("A", "A-1", dt.date(2027, 2, 1), "demand", Decimal("40"))],
        user=None,
    )
    old.status, old.approved_at = "approved", timezone.now()
    old.save(update_fields=["status", "approved_at"])
    cycle = CycleFactory(month=dt.date(2027, 1, 1), status="in_progress")
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", dt.date(2027, 2, 1), "demand", Decimal("55")),
            CellInput("A", "A-1", dt.date(2027, 2, 1), "production", Decimal("9")),
        ],
        user=None,
    )
    UserFactory(username="s", roles=["sales"])
    client.login(username="s", password=PASSWORD)
    assert client.get("/cycles/2027-01/demand/A/").status_code == 200
    data = client.get("/cycles/2027-01/demand/A/data/").json()
    assert [r["id"] for r in data["rows"]] == [
        "A-1|demand",
        "A-1|demand_reference",
        "A-1|statistical_baseline",
    ]
    demand, ref, _baseline = data["rows"]
    assert demand["values"] == {"m2027-02": 55}
    assert demand["versions"] == {"m2027-02": 1}
    assert ref["values"] == {"m2027-02": 40} and ref["editable"] == []
    assert ref["label"] == "Last approved (2026-12)"
    assert [c["kind"] for c in data["columns"]] == ["horizon"] * cycle.horizon
    assert data["measures"] == ["actual_sales", "demand"] and data["editable"] is True
    # A planner of another stream does not see this one at all.
    other = UserFactory(username="pb")
    other.memberships.create(value_stream=stream_b, role="planner")
    client.login(username="pb", password=PASSWORD)
    assert client.get("/cycles/2027-01/demand/A/data/").status_code == 403
