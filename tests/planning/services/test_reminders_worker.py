"""Reminders through a real Celery worker and the real Redis broker.

The worker runs in a thread of this process and needs to see the test's database:
that works on PostgreSQL (CI sets DATABASE_URL); on SQLite these tests skip outside CI.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection

from planning.models import ReminderDelivery
from planning.services.cycles import cycle_start
from planning.tasks import reminders_tick
from sofp.celery import app as celery_app
from tests.factories import UserFactory
from tests.planning import mail_backends

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "The worker thread needs a database shared across connections: run with "
            "DATABASE_URL=postgres://… (CI does)."
        )


QUEUE = f"sofp-test-{uuid.uuid4().hex[:8]}"  # private: other test runs share this Redis


@pytest.fixture(scope="module")
def celery_on_redis(redis_url):
    keys = ("broker_url", "task_default_queue", "task_always_eager", "broker_transport_options")
    saved = {k: celery_app.conf.get(k) for k in keys}
    celery_app.conf.update(
        broker_url=redis_url,
        task_default_queue=QUEUE,
        task_always_eager=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    yield celery_app
    celery_app.conf.update(saved)
    celery_app.__dict__.pop("amqp", None)


@pytest.fixture
def worker(celery_on_redis, postgres_only, settings):
    """A real worker (3 threads) on the real Redis, with a one-second retry backoff."""
    settings.SOFP_REMINDER_RETRY_BACKOFF = 1
    settings.SOFP_REMINDER_RETRY_BACKOFF_MAX = 2
    settings.EMAIL_BACKEND = "tests.planning.mail_backends.ScriptedBackend"
    mail_backends.script()
    # The app caches its routing and queue registry (another test's worker may have
    # selected its own queue there): both sides start from a fresh one on this module's
    # private queue, and the next test starts from a fresh one again.
    celery_on_redis.conf.task_default_queue = QUEUE
    celery_on_redis.__dict__.pop("amqp", None)
    with start_worker(
        celery_on_redis,
        pool="threads",
        concurrency=3,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=[QUEUE],
    ) as w:
        yield w
    mail_backends.script()
    celery_on_redis.__dict__.pop("amqp", None)


def _wait_until(predicate, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def _setup():
    executive = UserFactory(username="exec", roles=["executive"])
    sales = UserFactory(username="sal", roles=["sales"])
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=executive)
    return cycle.steps.get(number=1), sales


def test_beat_tick_sends_each_reminder_once_and_retries_a_dropped_connection(worker):
    step, _sales = _setup()
    now = (step.input_deadline - dt.timedelta(hours=2)).isoformat()
    mail_backends.script(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    # Beat fires twice at the same moment, and a third time later: still once each.
    for _ in range(2):
        reminders_tick.delay(now)

    def all_sent():
        rows = list(ReminderDelivery.objects.values_list("status", flat=True))
        return rows and all(s == "sent" for s in rows)

    _wait_until(all_sent)
    reminders_tick.delay(now)
    time.sleep(1.5)
    deliveries = list(ReminderDelivery.objects.all())
    assert len(mail.outbox) == len(deliveries) >= 2
    assert len({(m.to[0], m.subject) for m in mail.outbox}) == len(mail.outbox)
    retried = [d for d in deliveries if d.attempts == 2]
    assert len(retried) == 1  # the dropped connection was tried again, and sent
    assert all(d.attempts == 1 for d in deliveries if d not in retried)


def test_permanent_error_through_the_worker_is_failed_not_retried(worker):
    step, _sales = _setup()
    now = (step.input_deadline - dt.timedelta(hours=2)).isoformat()
    mail_backends.script(smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"unknown")}))
    reminders_tick.delay(now)
    _wait_until(
        lambda: (
            ReminderDelivery.objects.exists()
            and not ReminderDelivery.objects.filter(status="pending").exists()
        )
    )
    failed = ReminderDelivery.objects.get(status="failed")
    assert failed.attempts == 1 and "SMTPRecipientsRefused" in failed.last_error
    assert ReminderDelivery.objects.filter(status="sent").count() == len(mail.outbox)
