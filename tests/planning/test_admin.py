"""The Django admin: frozen means frozen, history is never deleted, writes go through
the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.models import (
    AuditEvent,
    CycleStatus,
    Decision,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
)
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import DecisionFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(client, admin_user):
    client.force_login(admin_user)
    return client


def _cell(cycle, family, value="10"):
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput(family.value_stream.code, family.code, cycle.month, "demand", Decimal(value))
        ],
        user=None,
    )
    return PlanValue.objects.get(cycle=cycle, product_family=family, measure="demand")


def test_frozen_values_cannot_be_changed_or_deleted(
    admin_client_logged, cycle, family_a, executive
):
    from planning.services.approval import cycle_approve

    cell = _cell(cycle, family_a)
    cycle_approve(cycle=cycle, user=executive, override_reason="x")
    url = f"/admin/planning/planvalue/{cell.pk}/change/"
    page = admin_client_logged.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    response = admin_client_logged.post(url, {"value": "99", "comment": "x"})
    assert response.status_code == 403
    assert (
        admin_client_logged.post(f"/admin/planning/planvalue/{cell.pk}/delete/").status_code == 403
    )
    cell.refresh_from_db()
    assert cell.value == Decimal("10") and cell.version == 1


def test_frozen_cycle_status_and_steps_cannot_change(admin_client_logged, frozen_cycle):
    url = f"/admin/planning/planningcycle/{frozen_cycle.pk}/change/"
    response = admin_client_logged.post(url, {"status": "in_progress", "horizon": 12})
    assert response.status_code == 403
    frozen_cycle.refresh_from_db()
    assert frozen_cycle.status == CycleStatus.APPROVED and frozen_cycle.horizon == 18
    step = frozen_cycle.steps.first()
    assert (
        admin_client_logged.post(f"/admin/planning/cyclestep/{step.pk}/change/", {}).status_code
        == 403
    )
    delete = f"/admin/planning/planningcycle/{frozen_cycle.pk}/delete/"
    assert admin_client_logged.post(delete, {"post": "yes"}).status_code == 403
    assert PlanningCycle.objects.filter(pk=frozen_cycle.pk).exists()


def test_open_cycle_status_is_read_only_in_the_admin(admin_client_logged, cycle):
    page = admin_client_logged.get(f"/admin/planning/planningcycle/{cycle.pk}/change/")
    assert page.status_code == 200
    assert b'name="status"' not in page.content  # shown, not editable
    assert admin_client_logged.get("/admin/planning/planningcycle/add/").status_code == 403


def test_history_has_no_change_delete_or_bulk_actions(admin_client_logged, cycle, family_a):
    cell = _cell(cycle, family_a)
    change = PlanValueChange.objects.get(plan_value=cell)
    event = AuditEvent.objects.create(cycle=cycle, object_type="cycle", action="x")
    for model, obj in (("planvaluechange", change), ("auditevent", event)):
        base = f"/admin/planning/{model}/"
        assert (
            admin_client_logged.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
        )
        assert admin_client_logged.post(f"{base}{obj.pk}/change/", {}).status_code == 403
        listing = admin_client_logged.get(base)
        assert listing.status_code == 200 and b'name="action"' not in listing.content
        bulk = admin_client_logged.post(
            base, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
        )
        assert bulk.status_code in (200, 302)
    assert PlanValueChange.objects.filter(pk=change.pk).exists()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_decisions_of_any_cycle_are_read_only_here(admin_client_logged, frozen_cycle):
    decision = DecisionFactory(cycle=frozen_cycle)
    url = f"/admin/planning/decision/{decision.pk}/change/"
    assert admin_client_logged.post(url, {"text": "changed"}).status_code == 403
    assert Decision.objects.get(pk=decision.pk).text == decision.text


def test_admin_change_of_an_open_value_goes_through_the_service(
    admin_client_logged, admin_user, cycle, family_a
):
    MembershipFactory(user=admin_user, value_stream=family_a.value_stream)
    cell = _cell(cycle, family_a)
    url = f"/admin/planning/planvalue/{cell.pk}/change/"
    response = admin_client_logged.post(url, {"value": "12.5", "comment": "why"})
    assert response.status_code == 302, response.content[:2000]
    cell.refresh_from_db()
    # The value (v2), then the comment (v3): both versioned and in the history.
    assert (cell.value, cell.version, cell.comment) == (Decimal("12.5"), 3, "why")
    comment = PlanValueChange.objects.filter(plan_value=cell).first()
    assert (comment.comment_changed, comment.old_comment, comment.new_comment) == (True, "", "why")
    change = PlanValueChange.objects.filter(plan_value=cell, comment_changed=False).first()
    assert (change.source, change.old_value, change.new_value, change.changed_by) == (
        "admin",
        Decimal("10"),
        Decimal("12.5"),
        admin_user,
    )


def test_admin_without_plan_rights_gets_the_services_no(admin_client_logged, cycle, family_a):
    cell = _cell(cycle, family_a)
    url = f"/admin/planning/planvalue/{cell.pk}/change/"
    response = admin_client_logged.post(url, {"value": "-5", "comment": ""})
    assert response.status_code == 200  # the form again, with the problem
    assert b"must not be negative" in response.content or b"not a planner" in response.content
    cell.refresh_from_db()
    assert cell.value == Decimal("10") and cell.version == 1
    assert dt.date(2027, 1, 1) == cell.month


@pytest.mark.parametrize("model", ["planvalue", "launch"])
def test_rows_written_by_services_are_never_added_here(admin_client_logged, model):
    assert admin_client_logged.get(f"/admin/planning/{model}/add/").status_code == 403
    changelist = admin_client_logged.get(f"/admin/planning/{model}/")
    assert changelist.status_code == 200
    assert f"/admin/planning/{model}/add/".encode() not in changelist.content


@pytest.mark.parametrize("model", ["actual", "actualchange", "baselinerun", "baselinefit"])
def test_rows_of_services_only_are_shown_never_changed(admin_client_logged, model):
    assert admin_client_logged.get(f"/admin/planning/{model}/add/").status_code == 403
    changelist = admin_client_logged.get(f"/admin/planning/{model}/")
    assert changelist.status_code == 200
    assert b'name="action"' not in changelist.content  # no bulk actions


def test_an_actual_cannot_be_changed_or_deleted_here(admin_client_logged, stream_a):
    from planning.models import Actual

    fact = Actual.objects.create(
        value_stream=stream_a, month=dt.date(2026, 10, 1), measure="headcount", value=3
    )
    url = f"/admin/planning/actual/{fact.pk}/"
    assert admin_client_logged.post(f"{url}change/", {"value": "4"}).status_code == 403
    assert admin_client_logged.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    fact.refresh_from_db()
    assert fact.value == 3 and fact.version == 1
