"""``/api/v1/cycles/YYYY-MM/launches/``: list, create, update with versions (409 when
stale), every "no"; on-time launch in ``export_box_score`` and ``/api/v1/box-score/``."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command

from planning.models import Launch, LaunchStatus
from planning.selectors.actuals import sofp_results_page
from tests.factories import CycleFactory, MembershipFactory, UserFactory, ValueStreamFactory
from valuestreams.models import Membership, ProductFamily, ValueStream

URL = "/api/v1/cycles/2027-01/launches/"


@pytest.fixture
def streams(db):
    npd = ValueStreamFactory(code="NPD", kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT)
    pumps = ValueStreamFactory(code="PUMPS")
    return npd, pumps


@pytest.fixture
def npd_manager(streams):
    user = UserFactory(username="npd_boss")
    MembershipFactory(user=user, value_stream=streams[0], role=Membership.Role.MANAGER)
    return user


BODY = {
    "npd_stream": "NPD",
    "receiving_stream": "PUMPS",
    "product_family": "PMP-API",
    "family_name": "API pump",
    "planned_month": "2027-03",
    "unit_price": 900,
    "ramp": [5, 15, 30],
    "development_hours": {"2027-01": 40, "2027-02": 60},
}


def test_create_list_update_and_a_stale_version(client_for, cycle, npd_manager, executive):
    api = client_for(npd_manager)
    r = api.post(URL, BODY, format="json")
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["product_family"] == "PMP-API" and created["version"] == 1
    assert created["ramp"] == [5.0, 15.0, 30.0] and created["committed_month"] is None
    assert ProductFamily.objects.get(code="PMP-API").value_stream.code == "PUMPS"

    listed = client_for(executive).get(URL).json()
    assert [x["product_family"] for x in listed] == ["PMP-API"]

    detail = f"{URL}{created['id']}/"
    r = client_for(executive).patch(detail, {"version": 1, "planned_month": "2027-05"}, "json")
    assert r.status_code == 200 and r.json()["version"] == 2
    assert r.json()["planned_month"] == "2027-05"
    r = api.patch(detail, {"version": 1, "status": "cancelled"}, format="json")
    assert r.status_code == 409
    assert r.json()["conflicts"][0]["planned_month"] == "2027-05"
    assert Launch.objects.get().status == LaunchStatus.PLANNED


@pytest.mark.parametrize(
    "change, code",
    [
        ({"planned_month": "2026-11"}, "launch_before_cycle"),
        ({"receiving_stream": "NPD"}, "receiving_stream_is_npd"),
        ({"product_family": "TAKEN"}, "family_code_in_use"),
    ],
)
def test_bad_input_is_400_with_the_problem_and_nothing_written(
    client_for, cycle, executive, streams, change, code
):
    from tests.factories import ProductFamilyFactory

    ProductFamilyFactory(code="TAKEN", value_stream=streams[1])
    body = {**BODY, **change}
    if code == "launch_before_cycle":
        body["development_hours"] = {}
    r = client_for(executive).post(URL, body, format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert [e["code"] for e in errors] == [code] and errors[0]["field"]
    assert not Launch.objects.exists() and not ProductFamily.objects.filter(code="PMP-API")


def test_a_month_not_written_yyyy_mm_says_how_to_write_it(client_for, cycle, executive, streams):
    body = {**BODY, "planned_month": "March 2027"}
    r = client_for(executive).post(URL, body, format="json")
    assert r.status_code == 400
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert errors["planned_month"] == "Enter a month as YYYY-MM, e.g. 2027-01."
    assert not Launch.objects.exists()


def test_every_no(client_for, cycle, streams, npd_manager):
    npd, pumps = streams
    pumps_planner = UserFactory(username="pp")
    MembershipFactory(user=pumps_planner, value_stream=pumps, role=Membership.Role.PLANNER)
    npd_planner = UserFactory(username="np")
    MembershipFactory(user=npd_planner, value_stream=npd, role=Membership.Role.PLANNER)
    finance = UserFactory(username="ff", roles=["finance"])
    for user in (pumps_planner, npd_planner, finance):
        assert client_for(user).post(URL, BODY, format="json").status_code == 403
    assert client_for(None).post(URL, BODY, format="json").status_code == 401
    assert not Launch.objects.exists()

    created = client_for(npd_manager).post(URL, BODY, format="json").json()
    detail = f"{URL}{created['id']}/"
    # NPD's own planner and finance read the stream, so they read the launch ...
    for user in (npd_planner, finance):
        assert client_for(user).get(detail).status_code == 200
        assert (
            client_for(user).patch(detail, {"version": 1, "note": "x"}, "json").status_code == 403
        )
    # ... a planner of PUMPS only does not read NPD: not even its launches.
    assert client_for(pumps_planner).get(URL).json() == []
    assert client_for(pumps_planner).get(detail).status_code == 404


def test_a_frozen_cycle_is_409(client_for, executive, streams):
    CycleFactory(month=dt.date(2027, 1, 1), status="approved")
    r = client_for(executive).post(URL, BODY, format="json")
    assert r.status_code == 409 and r.json()["frozen"] is True
    assert not ProductFamily.objects.filter(code="PMP-API").exists()


@pytest.mark.real_clock
def test_on_time_launch_in_export_box_score_and_the_api(client_for, executive, streams):
    """Two launches due in the 12 closed months up to 2026-10: one on time, one late."""
    npd, pumps = streams
    cycle = CycleFactory(month=dt.date(2026, 10, 1), status="approved")
    for code, committed, actual in (
        ("ON-TIME", dt.date(2026, 6, 1), dt.date(2026, 6, 1)),
        ("LATE", dt.date(2026, 7, 1), dt.date(2026, 9, 1)),
    ):
        family = ProductFamily.objects.create(
            code=code,
            name=code,
            value_stream=pumps,
            unit_price=1,
            unit_material_cost=1,
            hours_per_unit=1,
        )
        Launch.objects.create(
            cycle=cycle,
            product_family=family,
            npd_stream=npd,
            receiving_stream=pumps,
            planned_month=actual,
            committed_month=committed,
            actual_month=actual,
            status=LaunchStatus.LAUNCHED,
        )
    out = io.StringIO()
    call_command("export_box_score", "--month", "2026-10", stdout=out, stderr=io.StringIO())
    rows = {
        (r["value_stream"], r["measure"]): r["value"]
        for r in csv.DictReader(io.StringIO(out.getvalue()))
    }
    assert rows[("NPD", "on_time_launch")] == "0.500000"
    assert rows[("", "on_time_launch")] == "0.500000"
    api = client_for(executive).get("/api/v1/box-score/?month=2026-10").json()["results"]
    got = {(r["value_stream"], r["measure"]): r["value"] for r in api}
    assert float(got[("NPD", "on_time_launch")]) == pytest.approx(0.5)
    # Month 2026-06: only the on-time one was due.
    out = io.StringIO()
    call_command("export_box_score", "--month", "2026-06", stdout=out, stderr=io.StringIO())
    assert "NPD,2026-06,on_time_launch,1.000000" in out.getvalue()
    rows, _ = sofp_results_page()
    assert {r["month"]: r["on_time_launch"] for r in rows}.get("2026-10") == pytest.approx(0.5)
