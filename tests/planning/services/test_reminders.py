"""Reminders at fixed moments: 24 h / 2 h before, overdue, decisions, DST, exactly once."""

from __future__ import annotations

import datetime as dt
import smtplib
import zoneinfo

import pytest
from django.core import mail
from django.core.management import call_command

from planning.models import Decision, Notification, ReminderDelivery
from planning.selectors.cycles import deliveries_problematic
from planning.services.cycles import cycle_start
from planning.services.reminders import (
    MAX_ATTEMPTS,
    TransientDeliveryError,
    delivery_send,
    reminder_claim,
    reminders_due,
    reminders_send,
)
from tests.factories import UserFactory
from tests.planning import mail_backends

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
H = dt.timedelta(hours=1)


@pytest.fixture
def sales(db):
    return UserFactory(username="sal", roles=["sales"])


@pytest.fixture
def started(executive, sales, planner_a, company):
    """Cycle 2027-01 started: step 1 meets Fri 1 Jan 09:00, inputs due Thu 31 Dec 12:00."""
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=executive)
    return cycle


@pytest.fixture
def scripted_mail(settings):
    settings.EMAIL_BACKEND = "tests.planning.mail_backends.ScriptedBackend"
    mail_backends.script()
    yield mail_backends.script
    mail_backends.script()


def step1(cycle):
    return cycle.steps.get(number=1)


def keys(result):
    return sorted(result.keys)


def test_24h_before_the_input_deadline_each_participant_is_reminded(started, sales, planner_a):
    s = step1(started)
    assert s.input_deadline.astimezone(AMS) == dt.datetime(2026, 12, 31, 12, tzinfo=AMS)
    early = reminders_send(now=s.input_deadline - 24 * H - dt.timedelta(seconds=1))
    assert not [k for k in early.keys if f"step{s.pk}:" in k]
    result = reminders_send(now=s.input_deadline - 24 * H)
    assert keys(result) == sorted(
        [
            f"deadline:24h:step{s.pk}:user{planner_a.pk}",
            f"deadline:24h:step{s.pk}:user{sales.pk}",
        ]
    )
    assert len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == ["sal@example.com"])
    assert "Inputs for step 1" in message.subject and "31 Dec 2026, 12:00 CET" in message.subject
    assert "http://127.0.0.1:8000/cycles/2027-01/#step-1" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and 'href="http://127.0.0.1:8000/cycles/2027-01/#step-1"' in html
    note = Notification.objects.get(user=sales)
    assert (
        note.kind == "deadline" and note.url == "/cycles/2027-01/#step-1" and note.read_at is None
    )


def test_2h_before_deadline_and_meeting(started, sales):
    s = step1(started)
    reminders_send(now=s.input_deadline - 24 * H)
    result = reminders_send(now=s.input_deadline - 2 * H)
    assert f"deadline:2h:step{s.pk}:user{sales.pk}" in result.keys
    result = reminders_send(now=s.meeting_start - 2 * H)
    assert f"meeting:2h:step{s.pk}:user{sales.pk}" in result.keys
    kinds = set(ReminderDelivery.objects.filter(recipient=sales).values_list("key", flat=True))
    assert f"deadline:24h:step{s.pk}:user{sales.pk}" in kinds
    assert f"meeting:24h:step{s.pk}:user{sales.pk}" in kinds  # was due with the 2h deadline


def test_a_late_run_sends_only_the_nearest_reminder(started, sales):
    s = step1(started)
    result = reminders_send(now=s.input_deadline - 1 * H)
    mine = [k for k in result.keys if k.endswith(f"user{sales.pk}") and "deadline" in k]
    assert mine == [f"deadline:2h:step{s.pk}:user{sales.pk}"]


def test_configured_hours_are_used(started, sales, company):
    company.reminder_hours_before = [6]
    company.save()
    s = step1(started)
    assert not [k for k in reminders_send(now=s.input_deadline - 7 * H).keys if "deadline" in k]
    result = reminders_send(now=s.input_deadline - 6 * H)
    assert f"deadline:6h:step{s.pk}:user{sales.pk}" in result.keys


def test_overdue_when_the_meeting_ended_and_the_step_is_not_done(started, sales, executive):
    s = step1(started)
    assert not [k for k in reminders_send(now=s.meeting_end - H).keys if k.startswith("overdue")]
    result = reminders_send(now=s.meeting_end + dt.timedelta(minutes=1))
    assert f"overdue:0h:step{s.pk}:user{sales.pk}" in result.keys
    assert any("Overdue" in m.subject for m in mail.outbox)
    step2 = started.steps.get(number=2)
    step2.status = "done"
    step2.save()
    later = reminders_send(now=step2.meeting_end + H)
    assert not [k for k in later.keys if f"step{step2.pk}:" in k]


def test_sending_twice_sends_once(started):
    s = step1(started)
    first = reminders_send(now=s.input_deadline - 2 * H)
    sent = len(mail.outbox)
    second = reminders_send(now=s.input_deadline - 2 * H)
    assert first.claimed > 0 and second.claimed == 0 and second.already == first.claimed
    assert len(mail.outbox) == sent
    assert Notification.objects.count() == first.claimed


def test_a_claim_is_taken_once(started):
    spec = reminders_due(now=step1(started).input_deadline - 2 * H)[0]
    assert reminder_claim(spec) is not None
    assert reminder_claim(spec) is None
    assert ReminderDelivery.objects.filter(key=spec.key).count() == 1


def test_frozen_cycle_gets_no_step_reminders(started):
    s = step1(started)
    started.status, started.approved_at = "approved", s.meeting_end
    started.save()
    assert reminders_send(now=s.input_deadline - 2 * H).claimed == 0


def test_decisions_due_tomorrow_and_overdue_remind_their_owner(started, planner_a, sales):
    due = Decision.objects.create(
        cycle=started, text="Hire", owner=planner_a, due_date=dt.date(2027, 1, 20)
    )
    done = Decision.objects.create(
        cycle=started, text="Done", owner=sales, due_date=dt.date(2027, 1, 20), status="done"
    )
    before = dt.datetime(2027, 1, 18, 23, 59, tzinfo=AMS)
    assert not [k for k in reminders_send(now=before).keys if "decision" in k]
    result = reminders_send(now=dt.datetime(2027, 1, 19, 0, 0, tzinfo=AMS))
    assert f"decision_due:1d:decision{due.pk}:user{planner_a.pk}" in result.keys
    result = reminders_send(now=dt.datetime(2027, 1, 21, 8, tzinfo=AMS))
    assert f"decision_overdue:0d:decision{due.pk}:user{planner_a.pk}" in result.keys
    assert not ReminderDelivery.objects.filter(decision=done).exists()
    due.status = "done"
    due.save()
    assert not reminders_send(now=dt.datetime(2027, 1, 25, tzinfo=AMS)).claimed


def test_dst_week_reminders_count_elapsed_hours(executive, sales, company):
    """Cycle 2026-11: step 1 inputs due Fri 30 Oct 12:00 CET; summer time ended 25 Oct."""
    cycle, _ = cycle_start(month=dt.date(2026, 11, 1), user=executive)
    s = step1(cycle)
    assert s.input_deadline == dt.datetime(2026, 10, 30, 11, tzinfo=dt.UTC)
    # 24 h before is 12:00 CET = 11:00 UTC (a fixed summer offset would say 10:00 UTC).
    assert not reminders_send(now=dt.datetime(2026, 10, 29, 10, 59, tzinfo=dt.UTC)).claimed
    result = reminders_send(now=dt.datetime(2026, 10, 29, 11, 0, tzinfo=dt.UTC))
    assert f"deadline:24h:step{s.pk}:user{sales.pk}" in result.keys
    # 144 h before crosses the change: 11:00 UTC on Sat 24 Oct, 13:00 summer time.
    company.reminder_hours_before = [144]
    company.save()
    ReminderDelivery.objects.all().delete()
    at = dt.datetime(2026, 10, 24, 13, 0, tzinfo=AMS)
    assert at.utcoffset() == dt.timedelta(hours=2)
    assert not reminders_send(now=at - dt.timedelta(minutes=1)).claimed
    assert f"deadline:144h:step{s.pk}:user{sales.pk}" in reminders_send(now=at).keys


def test_transient_error_is_retried_then_sent_once(started, sales, scripted_mail):
    s = step1(started)
    scripted_mail(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    first = reminders_send(now=s.input_deadline - 2 * H)
    assert first.pending == 1 and first.sent == first.claimed - 1
    row = ReminderDelivery.objects.get(last_error__contains="SMTPServerDisconnected")
    assert row.status == "pending" and row.attempts == 1 and row.locked_until is None
    sent_before = len(mail.outbox)
    # The next run recovers the pending row (claimed more than 30 minutes ago).
    again = reminders_send(now=s.input_deadline - 2 * H + dt.timedelta(minutes=45))
    assert again.recovered == 1 and again.sent == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2
    assert len(mail.outbox) == sent_before + 1
    assert reminders_send(now=s.input_deadline - H).sent == 0


def test_permanent_error_is_recorded_and_shown(started, scripted_mail, admin_user, client):
    s = step1(started)
    scripted_mail(smtplib.SMTPRecipientsRefused({"sal@example.com": (550, b"No such user")}))
    result = reminders_send(now=s.input_deadline - 2 * H)
    assert result.failed == 1
    row = ReminderDelivery.objects.get(status="failed")
    assert "SMTPRecipientsRefused" in row.last_error and row.attempts == 1
    assert list(deliveries_problematic()) == [row]
    again = reminders_send(now=s.input_deadline - 2 * H + dt.timedelta(hours=1))
    assert again.recovered == 0 and row.attempts == 1  # never retried
    client.force_login(admin_user)
    page = client.get("/notifications/deliveries/").content.decode()
    assert row.key in page and "SMTPRecipientsRefused" in page


def test_transient_errors_give_up_after_max_attempts(started, scripted_mail):
    spec = reminders_due(now=step1(started).input_deadline - 2 * H)[0]
    delivery = reminder_claim(spec)
    scripted_mail(*[TimeoutError("timed out")] * MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(TransientDeliveryError):
            delivery_send(delivery_id=delivery.pk)
    assert delivery_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS
    assert not mail.outbox


def test_a_leased_delivery_is_not_sent_by_a_second_sender(started):
    now = step1(started).input_deadline - 2 * H
    delivery = reminder_claim(reminders_due(now=now)[0])
    ReminderDelivery.objects.filter(pk=delivery.pk).update(locked_until=now + H)
    assert delivery_send(delivery_id=delivery.pk, now=now) == "skipped"
    assert delivery_send(delivery_id=delivery.pk, now=now + 2 * H) == "sent"
    assert delivery_send(delivery_id=delivery.pk, now=now + 3 * H) == "skipped"
    assert len(mail.outbox) == 1


def test_a_crash_between_claim_and_send_is_recovered_after_a_while(started):
    now = step1(started).input_deadline - 2 * H
    delivery = reminder_claim(reminders_due(now=now)[0])  # the process dies here
    ReminderDelivery.objects.filter(pk=delivery.pk).update(created_at=now)
    soon = reminders_send(now=now + dt.timedelta(minutes=10))
    assert soon.recovered == 0
    later = reminders_send(now=now + dt.timedelta(minutes=31))
    assert later.recovered == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert sum(1 for m in mail.outbox if m.to == [delivery.recipient.email]) >= 1


def test_send_reminders_command(started, capsys):
    at = (step1(started).input_deadline - 2 * H).isoformat()
    call_command("send_reminders", "--now", at)
    out = capsys.readouterr().out
    assert "new reminder(s)" in out and "deadline:2h" in out
    call_command("send_reminders", "--now", at)
    assert "0 new reminder(s)" in capsys.readouterr().out


def test_admin_retries_a_failed_delivery_after_the_address_is_fixed(started, scripted_mail):
    from planning.services.reminders import deliveries_retry

    now = step1(started).input_deadline - 2 * H
    scripted_mail(smtplib.SMTPRecipientsRefused({"x": (550, b"no")}))
    reminders_send(now=now)
    failed = ReminderDelivery.objects.get(status="failed")
    assert deliveries_retry(ids=[failed.pk]) == 1
    reminders_send(now=now + H)
    failed.refresh_from_db()
    assert failed.status == "sent" and failed.attempts == 1


# --------------------------------------------------------------------------- issue 15


def test_notifications_clear_when_their_cause_ends(started, executive, planner_a):
    """The step-5 overdue notice clears on approval; a decision's when it is done."""
    from planning.services.approval import cycle_approve
    from planning.services.decisions import decision_update

    step5 = started.steps.get(number=5)
    reminders_send(now=step5.meeting_end + H)
    overdue = Notification.objects.filter(step=step5, kind="overdue", read_at__isnull=True)
    assert overdue.filter(user=executive).exists()
    decision = Decision.objects.create(
        cycle=started, text="Hire", owner=planner_a, due_date=dt.date(2027, 1, 20)
    )
    reminders_send(now=dt.datetime(2027, 1, 21, 8, tzinfo=AMS))
    about_decision = Notification.objects.filter(decision=decision, read_at__isnull=True)
    assert about_decision.exists()
    unrelated = Notification.objects.create(user=executive, kind="note", title="Keep me")

    cycle_approve(cycle=started, user=executive, override_reason="board met")
    assert not overdue.exists()
    assert not Notification.objects.filter(step__cycle=started, read_at__isnull=True).exists()
    assert about_decision.exists(), "a decision's follow-up outlives the approval"
    decision_update(decision=decision, user=planner_a, status="done")
    assert not about_decision.exists()
    unrelated.refresh_from_db()
    assert unrelated.read_at is None


def test_a_step_done_clears_its_notices(started, sales):
    from planning.services.steps import step_status_set

    s = step1(started)
    reminders_send(now=s.input_deadline - 2 * H)
    mine = Notification.objects.filter(step=s, user=sales, read_at__isnull=True)
    assert mine.exists()
    step_status_set(step=s, status="in_progress", user=sales)
    assert mine.exists()
    step_status_set(step=s, status="done", user=sales)
    assert not mine.exists()


def test_month_close_deadline_reminds_the_streams_members_until_actuals_are_in(
    planner_a, company, family_a
):
    from decimal import Decimal

    from planning.calendar import month_close_deadline
    from planning.measures import ACTUAL_STREAM_FACTS
    from planning.services.actuals import ActualInput, actuals_upsert
    from planning.services.reminders import KIND_MONTH_CLOSE, reminders_due

    # Working day 1 of March 2027 is Monday 1 March; actuals of February due 12:00.
    due = month_close_deadline(
        month=dt.date(2027, 3, 1),
        holidays=[],
        time_zone="Europe/Amsterdam",
        deadline=dt.time(12),
    )
    assert due == dt.datetime(2027, 3, 1, 12, tzinfo=AMS)
    # A Saturday 1st moves to Monday 3rd.
    assert month_close_deadline(
        month=dt.date(2026, 8, 1),
        holidays=[],
        time_zone="Europe/Amsterdam",
        deadline=dt.time(12),
    ).date() == dt.date(2026, 8, 3)
    specs = [s for s in reminders_due(now=due - 20 * H) if s.kind == KIND_MONTH_CLOSE]
    assert [(s.recipient_id, s.offset) for s in specs] == [(planner_a.pk, "24h")]
    assert specs[0].key.endswith(f":2027-02:user{planner_a.pk}")
    assert [s.offset for s in reminders_due(now=due - H) if s.kind == KIND_MONTH_CLOSE] == ["2h"]
    assert not [s for s in reminders_due(now=due + H) if s.kind == KIND_MONTH_CLOSE]
    # the stream's operational actuals all entered: no more reminders
    Feb = dt.date(2027, 2, 1)
    actuals_upsert(
        cells=[ActualInput("A", "", Feb, m, Decimal(1)) for m in ACTUAL_STREAM_FACTS],
        user=None,
        any_month=True,
    )
    assert not [s for s in reminders_due(now=due - H) if s.kind == KIND_MONTH_CLOSE]


def test_month_close_reminder_is_sent_with_a_link_to_the_page(planner_a, company, stream_a):
    from planning.services.reminders import reminders_send

    now = dt.datetime(2027, 3, 1, 11, tzinfo=AMS)
    result = reminders_send(now=now)
    assert any(k.startswith("month_close:2h") for k in result.keys)
    note = Notification.objects.get(kind="month_close")
    assert note.url == "/value-streams/A/month-close/?month=2027-02"
    assert "Month close 2027-02 of A" in note.title
