"""The launch register page (create, change, CSV), the demand view's ramp row and its
"Use ramp" endpoint."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from planning.models import AuditEvent, Launch, PlanValue, PlanValueChange
from tests.factories import PASSWORD, CycleFactory, MembershipFactory, UserFactory
from tests.factories import ValueStreamFactory as VS
from valuestreams.models import Membership, ProductFamily, ValueStream

pytestmark = pytest.mark.django_db
PAGE = "/cycles/2027-01/launches/"


@pytest.fixture
def world(db):
    npd = VS(code="NPD", kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT)
    VS(code="PUMPS")
    cycle = CycleFactory(month=dt.date(2027, 1, 1), status="in_progress")
    boss = UserFactory(username="boss")
    MembershipFactory(user=boss, value_stream=npd, role=Membership.Role.MANAGER)
    return cycle, boss


FORM = {
    "npd_stream": "NPD",
    "receiving_stream": "PUMPS",
    "product_family": "PMP-WEB",
    "family_name": "Web pump",
    "planned_month": "2027-03",
    "unit_price": "700",
    "ramp": "10, 20, 30",
    "development_hours": "2027-01: 50, 2027-02: 70",
}


def test_create_change_and_download(client, world):
    client.login(username="boss", password=PASSWORD)
    page = client.get(PAGE)
    assert page.status_code == 200 and b"No launches in this cycle yet" in page.content
    r = client.post(PAGE, FORM, follow=True)
    assert b"Launch PMP-WEB created" in r.content and b"PMP-WEB" in r.content
    launch = Launch.objects.get()
    r = client.post(
        f"{PAGE}{launch.pk}/",
        {"version": "1", "planned_month": "2027-05", "status": "planned", "ramp": "10, 20"},
        follow=True,
    )
    assert b"Launch PMP-WEB saved" in r.content
    launch.refresh_from_db()
    assert launch.planned_month == dt.date(2027, 5, 1) and launch.version == 2
    # A stale form (version 1) is refused, naming why; nothing changes.
    r = client.post(
        f"{PAGE}{launch.pk}/", {"version": "1", "planned_month": "2027-06"}, follow=True
    )
    assert b"changed by someone else" in r.content
    launch.refresh_from_db()
    assert launch.planned_month == dt.date(2027, 5, 1)
    text = client.get(f"{PAGE}download/").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["product_family"] == "PMP-WEB" and rows[0]["planned_month"] == "2027-05"
    assert rows[0]["ramp"] == "10.000000;20.000000"
    assert rows[0]["development_hours"] == "2027-01:50.000000;2027-02:70.000000"


def test_bad_input_on_the_page_names_the_field_and_writes_nothing(client, world):
    client.login(username="boss", password=PASSWORD)
    r = client.post(PAGE, {**FORM, "planned_month": "2026-10", "development_hours": ""})
    assert r.status_code == 400 and b"before the cycle" in r.content
    assert not ProductFamily.objects.filter(code="PMP-WEB").exists()
    assert b'value="PMP-WEB"' in r.content  # the form keeps what was typed


def test_readers_read_and_may_not_create(client, world):
    UserFactory(username="fin", roles=["finance"])
    client.login(username="fin", password=PASSWORD)
    assert b"Create launch" not in client.get(PAGE).content
    assert client.post(PAGE, FORM).status_code == 403
    assert not Launch.objects.exists()


def test_the_demand_view_shows_the_ramp_and_use_ramp_copies_it(client, world):
    client.login(username="boss", password=PASSWORD)
    client.post(PAGE, FORM)
    UserFactory(username="s", roles=["sales"])
    client.login(username="s", password=PASSWORD)
    page = client.get("/cycles/2027-01/demand/PUMPS/")
    assert b"Use ramp" in page.content
    data = client.get("/cycles/2027-01/demand/PUMPS/data/").json()
    ramp = next(r for r in data["rows"] if r["id"] == "PMP-WEB|launch_ramp")
    assert ramp["values"] == {"m2027-03": 10.0, "m2027-04": 20.0, "m2027-05": 30.0}
    assert ramp["editable"] == [] and ramp["label"] == "Launch ramp (NPD, planned 2027-03)"
    r = client.post(
        "/cycles/2027-01/grid/PUMPS/use-ramp/",
        {"cells": [{"family": "PMP-WEB", "month": "2027-04", "version": 0}]},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    pv = PlanValue.objects.get(product_family__code="PMP-WEB", measure="demand")
    assert (pv.month, float(pv.value)) == (dt.date(2027, 4, 1), 20.0)
    change = PlanValueChange.objects.get(plan_value=pv)
    assert change.source == "use_ramp" and change.get_source_display() == (
        "Demand copied from the launch ramp"
    )
    r = client.post(
        "/cycles/2027-01/grid/PUMPS/use-ramp/",
        {"cells": [{"family": "PMP-WEB", "month": "2027-09", "version": 0}]},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "no_ramp"


def test_admin_changes_go_through_the_service(client, world):
    cycle, _boss = world
    client.login(username="boss", password=PASSWORD)
    client.post(PAGE, FORM)
    launch = Launch.objects.get()
    UserFactory(username="root", is_staff=True, is_superuser=True)
    client.login(username="root", password=PASSWORD)
    url = f"/admin/planning/launch/{launch.pk}/change/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"planned_month": "2027-04-01", "status": "planned", "note": "admin"})
    assert r.status_code == 302
    launch.refresh_from_db()
    assert launch.version == 2 and launch.note == "admin"
    assert AuditEvent.objects.filter(object_type="launch", field="note", new="admin").exists()
    # Bad input shows on the form, nothing written.
    r = client.post(url, {"planned_month": "2026-01-01", "status": "planned", "note": "admin"})
    assert r.status_code == 200 and b"before the cycle" in r.content
    # Frozen: read-only.
    cycle.status = "approved"
    cycle.approved_at = dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    cycle.save()
    r = client.post(url, {"planned_month": "2027-06-01", "status": "planned", "note": "z"})
    assert r.status_code == 403
    launch.refresh_from_db()
    assert launch.version == 2


def test_the_ramp_label_says_launched_once_it_has_launched(client, world):
    import datetime as dt

    from planning.models import LaunchStatus

    client.login(username="boss", password=PASSWORD)
    client.post(PAGE, FORM)
    Launch.objects.update(status=LaunchStatus.LAUNCHED, actual_month=dt.date(2027, 2, 1))
    UserFactory(username="s", roles=["sales"])
    client.login(username="s", password=PASSWORD)
    data = client.get("/cycles/2027-01/demand/PUMPS/data/").json()
    ramp = next(r for r in data["rows"] if r["id"] == "PMP-WEB|launch_ramp")
    assert ramp["label"] == "Launch ramp (NPD, launched 2027-02)"
