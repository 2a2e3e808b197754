"""Celery tasks: thin wrappers that take ids and ISO strings and call one service."""

from __future__ import annotations

import datetime as dt

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from planning.services.reminders import MAX_ATTEMPTS, TransientDeliveryError, reminders_send
from sofp.queueing import enqueue_on_commit


def _backoff(task: Task) -> int:
    """Seconds before a task's next try: exponential with full jitter, capped; the factor
    and cap are settings read at call time (tests with a real worker use one second)."""
    return get_exponential_backoff_interval(
        factor=settings.SOFP_REMINDER_RETRY_BACKOFF,
        retries=task.request.retries,
        maximum=settings.SOFP_REMINDER_RETRY_BACKOFF_MAX,
        full_jitter=True,
    )


def _enqueue_delivery(delivery_id: int) -> None:
    # A broker outage leaves the claimed row pending; a later tick recovers it.
    enqueue_on_commit(reminder_deliver, delivery_id)


@shared_task(name="planning.reminders_tick", ignore_result=True)
def reminders_tick(now_iso: str | None = None) -> dict[str, int]:
    """Beat: claim what is due now and enqueue one delivery task per reminder."""
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    result = reminders_send(now=now, enqueue=_enqueue_delivery)
    return {"claimed": result.claimed, "already": result.already, "recovered": result.recovered}


@shared_task(
    bind=True,
    name="planning.reminder_deliver",
    ignore_result=True,
    max_retries=MAX_ATTEMPTS - 1,
    acks_late=True,
)
def reminder_deliver(self, delivery_id: int) -> str:
    """Send one reminder; a transient mail error retries with exponential backoff.

    The retry is explicit rather than ``autoretry_for`` because the backoff factor is a
    setting read at call time (``SOFP_REMINDER_RETRY_BACKOFF``), which lets the tests
    with a real worker use one second; the behaviour is the same (exponential, full
    jitter, capped at ``SOFP_REMINDER_RETRY_BACKOFF_MAX``, ``max_retries``).
    """
    from planning.services.reminders import delivery_send

    try:
        return delivery_send(delivery_id=delivery_id)
    except TransientDeliveryError as exc:
        raise self.retry(exc=exc, countdown=_backoff(self)) from exc


@shared_task(
    bind=True,
    name="planning.baseline_chunk",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def baseline_chunk(self, run_id: int, family_codes: list[str]) -> int:
    """Forecast and write one chunk of a baseline run (idempotent: a retry rewrites the
    same numbers). Database hiccups retry with backoff; anything else fails the run."""
    from planning.services.baseline import baseline_chunk_compute, baseline_run_fail

    try:
        return baseline_chunk_compute(run_id=run_id, family_codes=family_codes)
    except (OperationalError, InterfaceError):
        if self.request.retries >= self.max_retries:
            baseline_run_fail(run_id=run_id, error="The database stayed unavailable.")
        raise
    except Exception as exc:
        baseline_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise


@shared_task(
    bind=True,
    name="planning.board_pack_build",
    ignore_result=True,
    acks_late=True,
    max_retries=5,
)
def board_pack_build(self, cycle_id: int, kind: str) -> str:
    """Archive a cycle's board pack (idempotent: the archive keeps one per cycle and
    kind, a retry or a second worker finds it). Database hiccups and failed prints retry
    with exponential backoff; a missing renderer does not (it is logged, and the pack is
    archived on the first download instead)."""
    from planning.models import PlanningCycle
    from planning.services.board_pack import board_pack_archive
    from sofp.errors import ApplicationError
    from sofp.pdf import RenderFailed

    cycle = PlanningCycle.objects.filter(pk=cycle_id).first()
    if cycle is None:
        return "gone"
    try:
        pack = board_pack_archive(cycle=cycle, kind=kind)
    except (OperationalError, InterfaceError, RenderFailed) as exc:
        raise self.retry(exc=exc, countdown=_backoff(self)) from exc
    except ApplicationError as exc:
        import logging

        logging.getLogger(__name__).warning(
            "board pack %s of %s not built: %s", kind, cycle.label, exc.message
        )
        return exc.code
    return pack.sha256
