"""Step 3's page: every stream side by side, each number linking into its grid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import (
    PASSWORD,
    CycleFactory,
    MembershipFactory,
    ProductFamilyFactory,
    UserFactory,
    ValueStreamFactory,
)

pytestmark = pytest.mark.django_db
JAN = dt.date(2027, 1, 1)


@pytest.fixture
def plan(stream_a, stream_b):
    npd = ValueStreamFactory(code="N", name="New products", kind="npd")
    npd.serves.add(stream_a, stream_b)
    ProductFamilyFactory(code="A-1", value_stream=stream_a, hours_per_unit=Decimal("2"))
    ProductFamilyFactory(code="B-1", value_stream=stream_b)
    cycle = CycleFactory(month=JAN, status="in_progress")
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", JAN, "demand", Decimal("80")),
            CellInput("A", "A-1", JAN, "production", Decimal("60")),
            CellInput("A", "", JAN, "available_hours", Decimal("100")),
            CellInput("B", "B-1", JAN, "demand", Decimal("5")),
        ],
        user=None,
    )
    return cycle


def test_a_manager_reconciles_every_stream_with_links_into_the_grids(client, plan, stream_b):
    manager = UserFactory(username="mgr")
    MembershipFactory(user=manager, value_stream=stream_b, role="manager")
    client.login(username="mgr", password=PASSWORD)
    res = client.get("/cycles/2027-01/reconcile/")
    assert res.status_code == 200
    page = res.context["page"]
    assert [s.code for s in page.streams] == ["A", "B", "N"]
    npd = page.streams[2]
    assert npd.npd and npd.serves == ["A", "B"]
    jan = page.rows[0]
    a = jan.cells[0]
    assert (a.demand, a.production, a.required_hours, a.available_hours) == (80, 60, 120, 100)
    assert a.utilization == pytest.approx(1.2) and a.level == "bad"
    # 0 opening + 60 − 80 = −20: a shortage of A-1 in January.
    assert a.shortages == ["A-1"]
    assert page.overloaded_months == 1 and page.shortage_months >= 1
    html = res.content.decode()
    assert 'href="/cycles/2027-01/grid/A/?family=A-1&amp;month=2027-01&amp;measure=demand"' in html
    assert 'href="/cycles/2027-01/grid/A/?month=2027-01&amp;measure=utilization"' in html
    assert (
        'href="/cycles/2027-01/grid/A/?family=A-1&amp;month=2027-01&amp;measure=ending_inventory"'
        in html
    )
    assert "N (new product development) serves A, B" in html


def test_a_planner_sees_only_its_streams_and_unknown_cycles_are_404(client, plan, planner_a):
    client.login(username=planner_a.username, password=PASSWORD)
    page = client.get("/cycles/2027-01/reconcile/").context["page"]
    assert [s.code for s in page.streams] == ["A"]
    assert client.get("/cycles/2031-01/reconcile/").status_code == 404
