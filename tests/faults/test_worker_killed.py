"""A Celery worker killed while sending reminders: after a restart every reminder is sent
exactly once (issue 5's lease + unique delivery rows, late acks).

The worker is a real ``celery worker`` process on the real Redis, killed with SIGKILL
(no chance to clean up); it shares the test's PostgreSQL database. PostgreSQL only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from planning.models import ReminderDelivery
from planning.services.cycles import cycle_start
from planning.services.reminders import deliveries_stale, reminders_send
from planning.tasks import reminder_deliver
from tests.factories import UserFactory
from tests.migration_data import restore_migration_data

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
QUEUE = f"sofp-kill-{uuid.uuid4().hex[:8]}"
RECIPIENTS = 16


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(redis_url: str, mail_file: Path, tmp: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=redis_url,
        EMAIL_BACKEND="tests.faults.slow_mail.SlowFileBackend",
        SLOW_MAIL_FILE=str(mail_file),
        SLOW_MAIL_DELAY="0.3",
        SOFP_VAR_DIR=str(tmp / "var"),
        DJANGO_SETTINGS_MODULE="sofp.settings",
    )
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "sofp", "worker", "-Q", QUEUE,
            "--pool=prefork", "--concurrency=2", "--loglevel=WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"kill-{uuid.uuid4().hex[:6]}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(tmp / "worker.log", "a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _sent(mail_file: Path) -> list[dict]:
    if not mail_file.exists():
        return []
    return [json.loads(line) for line in mail_file.read_text().splitlines() if line]


def _wait(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def celery_on_redis(redis_url):
    """A producer on the Redis broker the worker process uses. In CI, CELERY_BROKER_URL
    names it (and Celery lets that variable win over an app's configuration). A separate
    app, so the project's app keeps its own queues and connections for other tests."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        url = redis_url
    producer = Celery("kill-producer", broker=url, set_as_current=False)
    yield url, producer
    producer.close()


@pytest.mark.django_db(transaction=True)
def test_killed_worker_loses_no_reminder_and_sends_none_twice(
    postgres_only, celery_on_redis, tmp_path
):
    restore_migration_data()
    executive = UserFactory(username="exec", roles=["executive"])
    for i in range(RECIPIENTS):
        UserFactory(username=f"sales{i}", roles=["sales"])
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=executive)
    step = cycle.steps.get(number=1)
    now = step.input_deadline - dt.timedelta(hours=2)

    url, producer = celery_on_redis

    def enqueue(pk: int) -> None:
        producer.send_task(reminder_deliver.name, args=(pk,), queue=QUEUE)

    mail_file = tmp_path / "mail.jsonl"
    worker = _start_worker(url, mail_file, tmp_path)
    try:
        result = reminders_send(now=now, enqueue=enqueue)  # what beat's tick does
        assert result.claimed >= RECIPIENTS
        total = ReminderDelivery.objects.count()
        _wait(lambda: len(_sent(mail_file)) >= 3, 60, "the first e-mails")
        os.killpg(worker.pid, signal.SIGKILL)  # mid-batch, no warm shutdown
        worker.wait(timeout=10)
        sent_before_crash = len(_sent(mail_file))
        pending = ReminderDelivery.objects.filter(status="pending").count()
        assert 0 < sent_before_crash < total and pending > 0, (sent_before_crash, pending)

        # Restart, and let beat's next ticks find the work the dead worker held. Its lease
        # (5 minutes) is fast-forwarded instead of waited for.
        worker = _start_worker(url, mail_file, tmp_path)
        ReminderDelivery.objects.filter(status="pending").update(
            locked_until=timezone.now() - dt.timedelta(seconds=1)
        )
        later = timezone.now() + dt.timedelta(hours=1)
        for pk in deliveries_stale(now=later):
            enqueue(pk)
        _wait(
            lambda: not ReminderDelivery.objects.filter(status="pending").exists(),
            120,
            "all reminders to be sent after the restart",
        )
        # The broker redelivering the unacknowledged tasks later (late acks) sends nothing.
        for pk in ReminderDelivery.objects.values_list("pk", flat=True):
            enqueue(pk)
        time.sleep(2)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)

    mails = _sent(mail_file)
    per_recipient = Counter((m["to"][0], m["subject"]) for m in mails)
    assert ReminderDelivery.objects.filter(status="sent").count() == total
    # Nothing is lost, and redelivered tasks send nothing. A mail that had left when the
    # SIGKILL landed, before its "sent" was committed, goes again: SMTP has no
    # transaction, so a mail in flight is at least once. The worker runs two processes,
    # so at most two such mails, each one sent before the crash, each twice at most.
    assert len(per_recipient) == total, f"{len(per_recipient)} recipients for {total}"
    again = [key for key, n in per_recipient.items() if n > 1]
    assert len(mails) - total == len(again) <= 2, f"{len(mails)} e-mails for {total} reminders"
    before = {(m["to"][0], m["subject"]) for m in mails[:sent_before_crash]}
    assert max(per_recipient.values()) <= 2 and set(again) <= before
