"""The workflow in the API with the browser's permissions, and what a sync client
needs: updated_since, ordering, ETags, limits in the schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from planning.models import AuditEvent, CycleStatus, Decision, PlanningCycle, PlanValueChange
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
C = "/api/v1/cycles/2027-01"


def test_start_a_cycle_with_the_browsers_permissions(client_for, executive, planner_a):
    body = {"month": "2027-03", "horizon": 12}
    denied = client_for(planner_a).post("/api/v1/cycles/start/", body, format="json")
    assert denied.status_code == 403
    response = client_for(executive).post("/api/v1/cycles/start/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["month"] == "2027-03" and len(response.json()["steps"]) == 5
    cycle = PlanningCycle.objects.get(month=dt.date(2027, 3, 1))
    assert (cycle.status, cycle.horizon) == (CycleStatus.IN_PROGRESS, 12)
    again = client_for(executive).post("/api/v1/cycles/start/", body, format="json")
    assert again.status_code == 400
    bad = client_for(executive).post("/api/v1/cycles/start/", {"month": "2027-13"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "month"


def test_comment_through_the_api_is_versioned_and_guarded(client_for, plan, planner_a):
    api = client_for(planner_a)
    cell = {"value_stream": "A", "product_family": "A-1", "month": "2027-01", "measure": "demand"}
    ok = api.post(
        f"{C}/plan-values/comment/", {**cell, "text": "Promo", "version": 1}, format="json"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["version"] == 2 and ok.json()["comment"] == "Promo"
    stale = api.post(
        f"{C}/plan-values/comment/", {**cell, "text": "x", "version": 1}, format="json"
    )
    assert stale.status_code == 409
    nul = api.post(f"{C}/plan-values/comment/", {**cell, "text": "a\x00b"}, format="json")
    assert nul.status_code == 400
    bell = api.post(f"{C}/plan-values/comment/", {**cell, "text": "a\x07b"}, format="json")
    assert bell.status_code == 400 and bell.json()["errors"][0]["code"] == "control_character"
    other = {**cell, "value_stream": "B", "product_family": "B-1"}
    assert (
        api.post(f"{C}/plan-values/comment/", {**other, "text": "no"}, format="json").status_code
        == 403
    )
    change = PlanValueChange.objects.filter(comment_changed=True).get()
    assert (change.source, change.new_comment, change.changed_by) == ("api", "Promo", planner_a)


def test_decisions_and_steps_through_the_api(client_for, plan, executive, planner_a):
    api = client_for(executive)
    body = {"text": "Add a shift", "owner": "exec", "due_date": "2027-02-01", "step": 5}
    assert client_for(planner_a).post(f"{C}/decisions/", body, format="json").status_code == 403
    created = api.post(f"{C}/decisions/", body, format="json")
    assert created.status_code == 201, created.content
    decision_id = created.json()["id"]
    done = api.patch(f"{C}/decisions/{decision_id}/", {"status": "done"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert Decision.objects.get(pk=decision_id).status == "done"
    assert api.patch(f"{C}/decisions/999999/", {"status": "done"}, format="json").status_code == 404
    # Step 5 belongs to the executives; minutes and status go through the services.
    step = api.patch(
        f"{C}/steps/5/", {"status": "in_progress", "minutes": "We met."}, format="json"
    )
    assert step.status_code == 200, step.content
    assert (step.json()["status"], step.json()["minutes"]) == ("in_progress", "We met.")
    assert api.patch(f"{C}/steps/5/", {"status": "done"}, format="json").status_code == 400
    assert (
        client_for(planner_a).patch(f"{C}/steps/5/", {"minutes": "x"}, format="json").status_code
        == 403
    )
    stale = api.patch(f"{C}/steps/5/", {"minutes": "y", "minutes_base": "old"}, format="json")
    assert stale.status_code == 409
    assert AuditEvent.objects.filter(action="minutes").count() == 1


def test_frozen_cycle_refuses_workflow_writes(client_for, frozen_cycle, executive):
    api = client_for(executive)
    f = "/api/v1/cycles/2026-12"
    body = {"text": "x", "owner": "exec", "due_date": "2027-02-01"}
    assert api.post(f"{f}/decisions/", body, format="json").status_code == 409
    assert api.patch(f"{f}/steps/4/", {"minutes": "x"}, format="json").status_code == 409


def test_updated_since_and_ordering_make_a_sync_loop(client_for, plan, planner_a):
    api = client_for(planner_a)
    first = api.get(f"{C}/plan-values/?ordering=-updated_at&page_size=1").json()["results"][0]
    assert first["updated_at"].endswith("Z")
    mark = timezone.now()
    changes = [
        CellInput("A", "A-1", dt.date(2027, 2, 1), "demand", Decimal("77")),
        CellInput("A", "A-1", dt.date(2027, 3, 1), "demand", None),  # cleared
    ]
    plan_values_upsert(cycle=plan, cells=changes, user=planner_a)
    since = mark.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()
    rows = api.get(f"{C}/plan-values/", {"updated_since": since, "ordering": "month"}).json()
    assert [(r["month"], r["value"]) for r in rows["results"]] == [
        ("2027-02", "77.000000"),
        ("2027-03", None),  # a sync client hears of the clear
    ]
    assert rows["results"][1]["version"] == 2
    everything = api.get(f"{C}/plan-values/?page_size=5000").json()["results"]
    assert all(r["value"] is not None for r in everything)  # no tombstones without it
    naive = api.get(f"{C}/plan-values/", {"updated_since": "2027-01-01T00:00:00"})
    assert naive.status_code == 400 and naive.json()["errors"][0]["field"] == "updated_since"
    bad = api.get(f"{C}/plan-values/", {"ordering": "secret"})
    assert bad.status_code == 400
    desc = api.get(f"{C}/plan-values/", {"ordering": "-month", "page_size": 3}).json()["results"]
    assert [r["month"] for r in desc] == sorted((r["month"] for r in desc), reverse=True)


@pytest.mark.parametrize(
    "url",
    [
        f"{C}/plan-values/",
        f"{C}/projections/streams/",
        f"{C}/box-score/",
        f"{C}/exceptions/",
        f"{C}/accuracy/",
        "/api/v1/cycles/",
        "/api/v1/product-families/",
    ],
)
def test_reads_carry_an_etag_and_answer_304(client_for, plan, executive, planner_a, url):
    api = client_for(executive)
    first = api.get(url)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    again = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"] and not again.content
    assert api.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    plan_values_upsert(
        cycle=plan,
        cells=[CellInput("A", "A-1", dt.date(2027, 1, 1), "demand", Decimal("1234"))],
        user=planner_a,
    )
    if url.endswith(("plan-values/", "streams/", "box-score/", "exceptions/")):
        changed = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_the_schema_states_the_limits(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    bulk = schema["paths"]["/api/v1/cycles/{month}/plan-values/bulk/"]["post"]
    body = bulk["requestBody"]["content"]["application/json"]["schema"]
    assert body["maxItems"] == 20_000
    params = {
        p["name"]: p
        for p in schema["paths"]["/api/v1/cycles/{month}/plan-values/"]["get"]["parameters"]
    }
    assert params["page_size"]["schema"]["maximum"] == 5000
    assert params["month_from"]["schema"]["pattern"].startswith("^(19")
    assert params["updated_since"]["schema"]["format"] == "date-time"
    box = {
        p["name"]: p
        for p in schema["paths"]["/api/v1/cycles/{month}/box-score/"]["get"]["parameters"]
    }
    assert {"value_stream", "month_from", "month_to", "page", "page_size"} <= set(box)
    assert "304" in schema["paths"]["/api/v1/cycles/{month}/box-score/"]["get"]["responses"]


def test_a_user_without_rights_cannot_comment(client_for, plan):
    nobody = UserFactory(username="nobody2")
    cell = {"value_stream": "A", "product_family": "A-1", "month": "2027-01", "measure": "demand"}
    response = client_for(nobody).post(
        f"{C}/plan-values/comment/", {**cell, "text": "x"}, format="json"
    )
    assert response.status_code == 403
