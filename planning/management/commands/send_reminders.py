"""``python manage.py send_reminders [--now ISO-8601]``: the beat task's service, by hand."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from planning.services.reminders import reminders_send


class Command(BaseCommand):
    help = (
        "Send the reminders due at a moment (default: now), each exactly once. "
        "Mails are sent inline unless --enqueue hands them to the Celery worker."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now",
            default=None,
            help="The moment to act as, ISO-8601 with an offset, e.g. 2027-01-04T10:00+01:00.",
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue one Celery task per reminder (retries with backoff) instead of sending.",
        )

    def handle(self, *args, now: str | None, enqueue: bool, **options) -> None:
        moment = timezone.now()
        if now:
            try:
                moment = dt.datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now: {now!r} is not an ISO-8601 date and time.") from exc
            if timezone.is_naive(moment):
                raise CommandError("--now needs a UTC offset, e.g. 2027-01-04T10:00+01:00 or Z.")
        enqueue_fn = None
        if enqueue:
            from planning.tasks import _enqueue_delivery

            enqueue_fn = _enqueue_delivery
        result = reminders_send(now=moment, enqueue=enqueue_fn)
        self.stdout.write(
            f"{moment.isoformat()}: {result.claimed} new reminder(s), "
            f"{result.already} already sent, {result.recovered} recovered; "
            f"e-mails sent {result.sent}, failed {result.failed}, to retry {result.pending}"
            + (" (queued)" if enqueue else "")
        )
        for key in result.keys:
            self.stdout.write(f"  {key}")
