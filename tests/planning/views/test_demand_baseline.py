"""Step 1's demand view and the statistical baseline: the grey row, "Use baseline" and
the highlight of demand far from the baseline that asks for an assumption."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.models import PlanValue, PlanValueChange
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import PASSWORD, CycleFactory, ProductFamilyFactory, UserFactory

pytestmark = pytest.mark.django_db
JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)


@pytest.fixture
def cycle(stream_a):
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    ProductFamilyFactory(code="A-2", value_stream=stream_a)
    cycle = CycleFactory(month=JAN, horizon=3, status="in_progress")
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", m, "statistical_baseline", Decimal(v))
            for m, v in ((JAN, "100"), (FEB, "110"), (MAR, "120"))
        ],
        user=None,
        source="baseline",
    )
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", JAN, "demand", Decimal("150")),  # 50% above
            CellInput("A", "A-1", FEB, "demand", Decimal("115")),  # close
        ],
        user=None,
    )
    UserFactory(username="s", roles=["sales"])
    return cycle


def test_demand_view_has_a_grey_baseline_row_and_flags_far_demand(client, cycle):
    client.login(username="s", password=PASSWORD)
    rows = {r["id"]: r for r in client.get("/cycles/2027-01/demand/A/data/").json()["rows"]}
    base = rows["A-1|statistical_baseline"]
    assert base["baseline"] is True and base["kind"] == "computed" and base["editable"] == []
    assert base["values"] == {"m2027-01": 100, "m2027-02": 110, "m2027-03": 120}
    assert base["label"] == "Statistical baseline"
    flags = rows["A-1|demand"]["flags"]
    assert list(flags) == ["m2027-01"]
    assert "50% above the statistical baseline (100)" in flags["m2027-01"]["reason"]
    assert "add an assumption" in flags["m2027-01"]["reason"]
    assert rows["A-2|statistical_baseline"]["label"] == "Statistical baseline: not computed yet"


def test_an_assumption_answers_the_highlight(client, cycle):
    pv = PlanValue.objects.get(cycle=cycle, product_family__code="A-1", measure="demand", month=JAN)
    pv.comment = "Tender won: +50 units"
    pv.save()
    client.login(username="s", password=PASSWORD)
    rows = {r["id"]: r for r in client.get("/cycles/2027-01/demand/A/data/").json()["rows"]}
    assert rows["A-1|demand"]["flags"] == {}


def test_use_baseline_copies_selected_cells_and_returns_fresh_flags(client, cycle):
    client.login(username="s", password=PASSWORD)
    response = client.post(
        "/cycles/2027-01/grid/A/use-baseline/",
        {
            "cells": [
                {"family": "A-1", "month": "2027-01", "version": 1},
                {"family": "A-1", "month": "2027-03", "version": 0},
            ]
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["versions"] == [2, 1]
    demand_row = next(r for r in body["computed"] if r["id"] == "A-1|demand")
    # Input rows come back with their flags (and subtotals); the month values are the
    # ones just written, checked in the database below.
    assert demand_row["flags"] == {}
    stored = dict(
        PlanValue.objects.filter(
            cycle=cycle, measure="demand", product_family__code="A-1"
        ).values_list("month", "value")
    )
    assert stored == {JAN: Decimal("100"), FEB: Decimal("115"), MAR: Decimal("120")}
    assert set(
        PlanValueChange.objects.filter(
            cycle=cycle, measure="demand", source="use_baseline"
        ).values_list("month", flat=True)
    ) == {JAN, MAR}


def test_use_baseline_refuses_stale_versions_missing_baselines_and_readers(client, cycle):
    client.login(username="s", password=PASSWORD)
    url = "/cycles/2027-01/grid/A/use-baseline/"
    stale = client.post(
        url,
        {"cells": [{"family": "A-1", "month": "2027-01", "version": 0}]},
        content_type="application/json",
    )
    assert stale.status_code == 409 and stale.json()["conflicts"]
    missing = client.post(
        url, {"cells": [{"family": "A-2", "month": "2027-01"}]}, content_type="application/json"
    )
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["code"] == "no_baseline"
    bad = client.post(url, {"cells": [{"month": "Jan"}]}, content_type="application/json")
    assert bad.status_code == 400
    UserFactory(username="f", roles=["finance"])
    client.login(username="f", password=PASSWORD)
    denied = client.post(
        url, {"cells": [{"family": "A-1", "month": "2027-02"}]}, content_type="application/json"
    )
    assert denied.status_code == 403
    assert PlanValue.objects.get(
        cycle=cycle, product_family__code="A-1", measure="demand", month=FEB
    ).value == Decimal("115")


@pytest.mark.parametrize("action", ["use-baseline", "use-ramp"])
def test_both_copies_into_demand_read_their_cells_alike(client, cycle, action):
    client.login(username="s", password=PASSWORD)
    url = f"/cycles/2027-01/grid/A/{action}/"
    cells = [
        {"family": "A-1", "month": "2027-01", "version": True},  # not a whole number
        {"family": "A-1", "month": "2027-02", "version": -1},
        {"month": "2027-03"},
        "not a cell",
    ]
    bad = client.post(url, {"cells": cells}, content_type="application/json")
    assert bad.status_code == 400
    assert [(e["index"], e["code"]) for e in bad.json()["errors"]] == [
        (0, "bad_version"),
        (1, "bad_version"),
        (2, "bad_cell"),
        (3, "bad_cell"),
    ]
    empty = client.post(url, {"cells": []}, content_type="application/json")
    assert empty.status_code == 400
    assert not PlanValueChange.objects.filter(source__in=["use_baseline", "use_ramp"]).exists()
