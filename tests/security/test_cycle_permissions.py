"""Approval needs the executive role; a frozen cycle stays frozen; notifications are
private (issue 5 pages)."""

from __future__ import annotations

import datetime as dt

import pytest

from planning.models import Notification, PlanningCycle
from tests.factories import CycleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [None, "finance", "sales", "product"])
def test_only_executives_approve_a_cycle(client, cycle, planner_a, role):
    user = planner_a if role is None else UserFactory(username=f"u_{role}", roles=[role])
    client.force_login(user)
    response = client.post(
        f"/cycles/{cycle.label}/approve/", {"override_reason": "looks fine to me"}
    )
    assert response.status_code == 403
    assert not PlanningCycle.objects.get(pk=cycle.pk).is_frozen


def test_an_executive_may_approve(client, cycle, executive):
    client.force_login(executive)
    client.post(
        f"/cycles/{cycle.label}/approve/", {"override_reason": "board agreed", "confirm": "yes"}
    )
    assert PlanningCycle.objects.get(pk=cycle.pk).is_frozen


def test_a_frozen_cycle_cannot_be_approved_again_or_reopened(client, executive):
    frozen = CycleFactory(month=dt.date(2026, 6, 1), status="approved")
    approved_at = frozen.approved_at
    client.force_login(executive)
    response = client.post("/cycles/2026-06/approve/", {"override_reason": "again"})
    assert response.status_code == 409
    frozen.refresh_from_db()
    assert frozen.is_frozen and frozen.approved_at == approved_at


def test_approval_redirect_never_leaves_the_site(client, cycle, executive):
    client.force_login(executive)
    response = client.post(
        f"/cycles/{cycle.label}/approve/",
        {"override_reason": "ok", "next": "https://evil.example.com/phish", "confirm": "yes"},
    )
    assert response.status_code == 302
    assert "evil.example.com" not in response["Location"]


def test_users_see_only_their_own_notifications(client, planner_a, executive):
    Notification.objects.create(user=executive, kind="reminder", title="Exec-only secret")
    Notification.objects.create(user=planner_a, kind="reminder", title="For the planner")
    client.force_login(planner_a)
    html = client.get("/notifications/").content.decode()
    assert "For the planner" in html
    assert "Exec-only secret" not in html


def test_users_cannot_mark_others_notifications_read(client, planner_a, executive):
    theirs = Notification.objects.create(user=executive, kind="reminder", title="Theirs")
    client.force_login(planner_a)
    client.post("/notifications/read/", {"id": [theirs.pk]})
    client.post("/notifications/read/")  # "mark all" marks only one's own
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_reminder_deliveries_are_for_staff_only(client, planner_a, executive, admin_user):
    for user in (planner_a, executive):
        client.force_login(user)
        response = client.get("/notifications/deliveries/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(admin_user)
    assert client.get("/notifications/deliveries/").status_code == 200
