"""The baseline through a real Celery worker on the real Redis broker: chunks as tasks,
progress, and the same numbers as the inline command.

The worker runs in threads of this process and needs to see the test's database: that
works on PostgreSQL (CI sets DATABASE_URL); on SQLite these tests skip outside CI.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection, transaction

from planning.calendar import month_add
from planning.models import BaselineRun, PlanValue
from planning.services.baseline import baseline_compute, baseline_request
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.tasks import baseline_chunk
from sofp.celery import app as celery_app
from tests.factories import CycleFactory, ProductFamilyFactory, ValueStreamFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
QUEUE = f"sofp-test-baseline-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(redis_url):
    if connection.vendor != "postgresql":
        pytest.skip(
            "The worker thread needs a database shared across connections: run with "
            "DATABASE_URL=postgres://… (CI does)."
        )
    keys = ("broker_url", "task_always_eager", "broker_transport_options")
    saved = {k: celery_app.conf.get(k) for k in keys}
    celery_app.conf.update(
        broker_url=redis_url,
        task_always_eager=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    # The queue and the connection are named on both sides: the app caches its default
    # routing and its producers, so another test's settings never leak into this one
    # (and this one's never into theirs).
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        queues=[QUEUE],
    ) as w:
        yield w
    celery_app.conf.update(saved)
    # The worker's -Q selected this queue in the app's queue registry: start the next
    # test's worker from a fresh one.
    celery_app.__dict__.pop("amqp", None)


def _plan() -> tuple:
    stream = ValueStreamFactory(code="W")
    families = [ProductFamilyFactory(code=f"W-{i}", value_stream=stream) for i in range(5)]
    history = CycleFactory(month=dt.date(2026, 1, 1), horizon=12)
    cells = [
        CellInput(
            "W",
            fam.code,
            month_add(dt.date(2025, 1, 1), m),
            "actual_sales",
            Decimal(100 + i + m % 12 * 3),
        )
        for i, fam in enumerate(families)
        for m in range(24)
    ]
    plan_values_upsert(cycle=history, cells=cells, user=None, source="demo")
    return CycleFactory(month=dt.date(2027, 1, 1), horizon=6, status="in_progress"), families


def test_chunks_run_on_the_worker_and_write_what_the_command_writes(worker, redis_url):
    cycle, _families = _plan()

    def enqueue(run_id: int, codes: list[str]) -> None:
        transaction.on_commit(lambda: baseline_chunk.apply_async(args=[run_id, codes], queue=QUEUE))

    run = baseline_request(cycle=cycle, user=None, chunk_families=2, enqueue=enqueue)  # 3 chunks
    assert run.chunks_total == 3
    end = time.monotonic() + 60
    while time.monotonic() < end:
        run.refresh_from_db()
        if not run.is_active:
            break
        time.sleep(0.3)
    assert run.status == "done" and run.families_done == 5
    values = lambda: list(  # noqa: E731
        PlanValue.objects.filter(cycle=cycle, measure="statistical_baseline")
        .order_by("product_family__code", "month")
        .values_list("product_family__code", "month", "value")
    )
    by_worker = values()
    assert len(by_worker) == 5 * 6
    baseline_compute(cycle=cycle, n_jobs=1)
    assert values() == by_worker  # the same numbers, inline or on the worker
    assert BaselineRun.objects.filter(cycle=cycle, status="done").count() == 2
