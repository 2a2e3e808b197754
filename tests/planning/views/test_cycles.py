"""The cycle pages through the Django client, above all the "no" paths."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from planning.models import AuditEvent, Decision, Notification, PlanningCycle
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.steps import step_status_set
from tests.factories import CycleFactory, DecisionFactory

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(name, args=args)


def _done_1_to_4(cycle, user):
    for n in range(1, 5):
        s = cycle.steps.get(number=n)
        step_status_set(step=s, status="in_progress", user=user)
        step_status_set(step=s, status="done", user=user)


def test_cycle_page_shows_steps_agenda_deadlines_and_history(client, cycle, sales_user):
    step_status_set(step=cycle.steps.get(number=1), status="in_progress", user=sales_user)
    client.force_login(sales_user)
    html = client.get(url("cycle_detail", "2027-01")).content.decode()
    for text in (
        "Demand planning",
        "SOFP executive meeting",
        "Forecast per value stream",
        "Input deadline",
        "History",
        "not_started → in_progress",
    ):
        assert text in html, text
    assert 'data-testid="timeline-step-5"' in html
    assert "CET" in html  # shown in the company's time zone


def test_cycle_page_marks_overdue_steps(client, cycle, sales_user):
    client.force_login(sales_user)
    html = client.get(url("cycle_detail", "2027-01")).content.decode()
    assert "is-overdue" not in html  # 2027 lies ahead
    past = CycleFactory(month=dt.date(2020, 1, 1))
    html = client.get(url("cycle_detail", past.label)).content.decode()
    assert html.count('class="badge is-overdue"') == 5


def test_unknown_cycle_is_404(client, sales_user):
    client.force_login(sales_user)
    assert client.get("/cycles/2031-05/").status_code == 404


def test_list_page_and_empty_state(client, planner_a):
    client.force_login(planner_a)
    html = client.get(url("cycle_list")).content.decode()
    assert "No cycle yet" in html and "Start cycle" not in html


def test_executive_starts_next_month_from_the_list(client, executive, cycle):
    client.force_login(executive)
    response = client.post(url("cycle_start"), {"month": "2027-02"})
    assert response.status_code == 302 and response["Location"] == "/cycles/2027-02/"
    assert PlanningCycle.objects.filter(month=dt.date(2027, 2, 1)).exists()
    again = client.post(url("cycle_start"), {"month": "2027-02"})
    assert again.status_code == 400 and "already exists" in again.content.decode()


def test_planner_cannot_start_a_cycle(client, planner_a):
    client.force_login(planner_a)
    response = client.post(url("cycle_start"), {"month": "2027-02"})
    assert response.status_code == 403
    assert not PlanningCycle.objects.exists()


def test_home_shows_the_start_button_to_executives_only(client, executive, planner_a, cycle):
    client.force_login(executive)
    assert "Start next month" in client.get("/").content.decode()
    client.force_login(planner_a)
    assert "Start next month" not in client.get("/").content.decode()


def test_sales_cannot_edit_step_2_minutes(client, cycle, sales_user):
    client.force_login(sales_user)
    response = client.post(url("cycle_step_minutes", "2027-01", 2), {"minutes": "hijack"})
    assert response.status_code == 403
    assert cycle.steps.get(number=2).minutes == ""
    html = client.get(url("cycle_detail", "2027-01")).content.decode()
    assert 'id="minutes-1"' in html and 'id="minutes-2"' not in html


def test_owner_saves_minutes_and_a_stale_editor_gets_409_with_text_kept(client, cycle, sales_user):
    client.force_login(sales_user)
    ok = client.post(url("cycle_step_minutes", "2027-01", 1), {"minutes": "A", "base": ""})
    assert ok.status_code == 302
    stale = client.post(url("cycle_step_minutes", "2027-01", 1), {"minutes": "B", "base": ""})
    assert stale.status_code == 409
    assert ">B</textarea>" in stale.content.decode()
    assert cycle.steps.get(number=1).minutes == "A"


def test_step_status_buttons_move_the_step(client, cycle, sales_user):
    client.force_login(sales_user)
    r = client.post(url("cycle_step_status", "2027-01", 1), {"status": "in_progress"})
    assert r.status_code == 302 and cycle.steps.get(number=1).status == "in_progress"
    bad = client.post(url("cycle_step_status", "2027-01", 1), {"status": "bogus"})
    assert bad.status_code == 400


def test_planner_cannot_approve(client, cycle, planner_a):
    client.force_login(planner_a)
    response = client.post(url("cycle_approve", "2027-01"), {"override_reason": "please"})
    assert response.status_code == 403
    cycle.refresh_from_db()
    assert not cycle.is_frozen


def test_approval_needs_steps_1_to_4_or_a_reason(client, cycle, executive):
    client.force_login(executive)
    refused = client.post(url("cycle_approve", "2027-01"), {"confirm": "yes"})
    assert refused.status_code == 409 and "not done" in refused.content.decode()
    ok = client.post(
        url("cycle_approve", "2027-01"),
        {"override_reason": "Finance is ill", "next": "/review/", "confirm": "yes"},
    )
    assert ok.status_code == 302 and ok["Location"] == "/review/"
    cycle.refresh_from_db()
    assert cycle.is_frozen and cycle.approval_override_reason == "Finance is ill"


def test_approve_ignores_an_offsite_next(client, cycle, executive):
    _done_1_to_4(cycle, executive)
    client.force_login(executive)
    r = client.post(
        url("cycle_approve", "2027-01"), {"next": "https://evil.example/", "confirm": "yes"}
    )
    assert r["Location"] == "/cycles/2027-01/"


@pytest.fixture
def frozen(cycle, executive, family_a):
    plan_values_upsert(
        cycle=cycle, cells=[CellInput("A", "A-1", cycle.month, "demand", Decimal("5"))], user=None
    )
    _done_1_to_4(cycle, executive)
    from planning.services.approval import cycle_approve

    cycle_approve(cycle=cycle, user=executive)
    return cycle


def test_frozen_cycle_refuses_every_page_change_with_409(client, frozen, executive):
    client.force_login(executive)
    before = AuditEvent.objects.count()
    for path, data in (
        (url("cycle_step_status", "2027-01", 1), {"status": "in_progress"}),
        (url("cycle_step_minutes", "2027-01", 1), {"minutes": "late"}),
        (url("cycle_approve", "2027-01"), {}),
        (
            url("cycle_decision_create", "2027-01"),
            {"text": "x", "owner": "exec", "due_date": "2027-02-01", "step": "5"},
        ),
    ):
        response = client.post(path, data)
        assert response.status_code == 409, path
        assert "frozen" in response.content.decode()
    assert AuditEvent.objects.count() == before
    html = client.get(url("cycle_detail", "2027-01")).content.decode()
    assert 'data-testid="frozen-banner"' in html and "<textarea" not in html


def test_decision_post_from_the_review_page(client, cycle, executive, planner_a):
    client.force_login(executive)
    r = client.post(
        url("cycle_decision_create", "2027-01"),
        {
            "text": "Second shift",
            "owner": str(planner_a.pk),
            "due_date": "2027-02-15",
            "step": "5",
            "next": "/cycles/2027-01/review/",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/cycles/2027-01/review/"
    d = Decision.objects.get()
    assert d.owner == planner_a and d.step.number == 5 and d.due_date == dt.date(2027, 2, 15)


def test_decision_post_lists_every_problem(client, cycle, executive):
    client.force_login(executive)
    r = client.post(
        url("cycle_decision_create", "2027-01"),
        {"text": "", "owner": "nobody", "due_date": "15/02/2027", "step": "5"},
    )
    assert r.status_code == 400 and "unknown user" in r.content.decode()
    r = client.post(
        url("cycle_decision_create", "2027-01"),
        {"text": "x", "owner": "exec", "due_date": "15/02/2027", "step": "5"},
    )
    assert r.status_code == 400 and "not a date" in r.content.decode()
    assert not Decision.objects.exists()


def test_sales_cannot_add_a_step_5_decision(client, cycle, sales_user):
    client.force_login(sales_user)
    r = client.post(
        url("cycle_decision_create", "2027-01"),
        {"text": "x", "owner": "sal", "due_date": "2027-02-01", "step": "5"},
    )
    assert r.status_code == 403 and not Decision.objects.exists()


def test_decisions_log_filters_by_status_and_owner(client, executive, planner_a, cycle):
    DecisionFactory(cycle=cycle, text="Open one", owner=planner_a)
    DecisionFactory(cycle=cycle, text="Done one", owner=executive, status="done")
    client.force_login(planner_a)
    html = client.get(url("decisions_log") + "?status=open").content.decode()
    assert "Open one" in html and "Done one" not in html
    html = client.get(url("decisions_log") + "?owner=exec").content.decode()
    assert "Done one" in html and "Open one" not in html
    empty = client.get(url("decisions_log") + "?owner=ghost").content.decode()
    assert "No decisions match" in empty


def test_decisions_log_query_count_is_constant(
    client, executive, cycle, django_assert_max_num_queries
):
    for i in range(15):
        DecisionFactory(cycle=cycle, text=f"D{i}", owner=executive)
    client.force_login(executive)
    with django_assert_max_num_queries(14):
        assert client.get(url("decisions_log")).status_code == 200


def test_cycle_page_query_count_is_bounded(client, executive, cycle, django_assert_max_num_queries):
    for i in range(10):
        DecisionFactory(cycle=cycle, text=f"D{i}", owner=executive, step=cycle.steps.get(number=5))
    client.force_login(executive)
    with django_assert_max_num_queries(25):
        assert client.get(url("cycle_detail", "2027-01")).status_code == 200


def test_decision_owner_updates_status_but_not_someone_elses(client, cycle, planner_a, sales_user):
    d = DecisionFactory(cycle=cycle, owner=planner_a, step=cycle.steps.get(number=5))
    client.force_login(sales_user)
    assert client.post(url("decision_update", d.pk), {"status": "done"}).status_code == 403
    client.force_login(planner_a)
    assert client.post(url("decision_update", d.pk), {"status": "done"}).status_code == 302
    d.refresh_from_db()
    assert d.status == "done"


def test_notifications_list_badge_and_mark_read(client, planner_a, executive):
    n1 = Notification.objects.create(user=planner_a, kind="deadline", title="Inputs due", url="/")
    Notification.objects.create(user=planner_a, kind="meeting", title="Meeting soon")
    other = Notification.objects.create(user=executive, kind="meeting", title="Not yours")
    client.force_login(planner_a)
    html = client.get(url("notifications")).content.decode()
    assert "Inputs due" in html and "Not yours" not in html
    assert '<span class="nav-badge">2</span>' in html
    client.post(url("notifications_read"), {"id": [str(n1.pk), str(other.pk)]})
    n1.refresh_from_db()
    other.refresh_from_db()
    assert n1.read_at is not None and other.read_at is None
    client.post(url("notifications_read"))
    assert not planner_a.notifications.filter(read_at__isnull=True).exists()
    assert '<span class="nav-badge">' not in client.get("/").content.decode()


def test_failed_deliveries_page_is_for_staff(client, planner_a):
    client.force_login(planner_a)
    assert client.get(url("reminder_deliveries")).status_code == 302


def test_timeline_highlights_today_in_the_company_time_zone(cycle, executive):
    from planning.selectors.cycles import cycle_timeline

    step2 = cycle.steps.get(number=2)
    # 23:30 UTC the evening before is already the meeting day in Amsterdam.
    now = step2.meeting_start.replace(hour=0, minute=0) - dt.timedelta(minutes=30)
    rows = cycle_timeline(cycle=cycle, user=executive, now=now)
    assert [r.is_today for r in rows] == [False, True, False, False, False]
    assert not any(r.is_overdue for r in rows[1:])
