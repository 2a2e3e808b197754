"""Redis down: the web tier keeps serving; work that could not be queued is not a 500."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import redis
from celery import Celery
from django.core.cache import cache
from django.test import Client

from sofp.queueing import enqueue, enqueue_on_commit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _broker_from_the_app(monkeypatch):
    # Celery lets CELERY_BROKER_URL (set in CI) override an app's own broker; these tests
    # point their own app at a dead or live Redis.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


def _dead_redis() -> str:
    """A loopback port where nothing listens: a Redis that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def redis_cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "sofp.cache.ResilientRedisCache",
            "LOCATION": _dead_redis() + "/1",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    yield
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def _app(broker: str) -> tuple[Celery, object]:
    app = Celery("faults", broker=broker, set_as_current=False)
    app.conf.broker_connection_timeout = 1
    app.conf.broker_transport_options = {"socket_connect_timeout": 1, "socket_timeout": 1}

    @app.task(name="faults.remind")
    def remind(cycle_id: int) -> None:  # never runs here; only queued
        return None

    return app, remind


def test_cache_reads_miss_and_writes_are_dropped_while_redis_is_down(
    redis_cache_down, caplog, monkeypatch
):
    monkeypatch.setattr("sofp.cache._last_logged", 0.0)
    with caplog.at_level(logging.WARNING, logger="sofp.cache"):
        cache.set("k", "v")
        assert cache.get("k") is None
        assert cache.get("k", "fallback") == "fallback"
        assert cache.get_or_set("k2", lambda: 42) == 42
        assert cache.get_many(["a", "b"]) == {}
        assert cache.add("k3", 1) is False
        cache.delete("k")
    assert "cache unavailable, continuing without it" in caplog.text


def test_pages_and_health_work_while_the_cache_is_down(
    redis_cache_down, planner_a, stream_a, cycle, settings
):
    settings.CELERY_BROKER_URL = _dead_redis() + "/0"
    settings.HEALTH_READY_REQUIRES_BROKER = False
    client = Client()
    client.force_login(planner_a)
    started = time.perf_counter()
    assert client.get("/").status_code == 200
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["broker"]["ok"] is False
    assert time.perf_counter() - started < 10


def test_grid_saves_and_throttled_api_reads_work_while_redis_is_down(
    redis_cache_down, planner_a, stream_a, family_a, cycle, settings
):
    import json

    from rest_framework.authtoken.models import Token

    settings.CELERY_BROKER_URL = _dead_redis() + "/0"
    client = Client()
    client.force_login(planner_a)
    body = {"cells": [{"family": "A-1", "month": "2027-01", "measure": "demand", "value": "7"}]}
    saved = client.post(
        "/cycles/2027-01/grid/A/save/", json.dumps(body), content_type="application/json"
    )
    assert saved.status_code == 200, saved.content
    token = Token.objects.create(user=planner_a).key
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    for _ in range(3):  # DRF's throttling reads and writes the (dead) cache on each call
        listed = api.get("/api/v1/cycles/2027-01/plan-values/")
        assert listed.status_code == 200
    assert listed.json()["results"][0]["value"].startswith("7")


def test_enqueue_with_the_broker_down_logs_and_returns_false_quickly(caplog):
    _, remind = _app(_dead_redis() + "/0")
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="sofp.queueing"):
        assert enqueue(remind, 7) is False
    assert time.perf_counter() - started < 10
    assert "could not queue faults.remind; beat will catch up" in caplog.text


def test_enqueue_on_commit_runs_after_commit_and_survives_the_outage(
    django_capture_on_commit_callbacks, caplog
):
    _, remind = _app(_dead_redis() + "/0")
    with (
        caplog.at_level(logging.WARNING, logger="sofp.queueing"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        enqueue_on_commit(remind, 7)
    assert len(callbacks) == 1
    assert "could not queue" in caplog.text


@pytest.mark.redis
def test_enqueue_reaches_a_live_redis(redis_url):
    _, remind = _app(redis_url)
    client = redis.Redis.from_url(redis_url)
    client.delete("celery")
    try:
        assert enqueue(remind, 7) is True
        assert client.llen("celery") == 1
    finally:
        client.delete("celery")


def test_reminders_that_could_not_be_queued_are_sent_once_when_redis_is_back(
    django_capture_on_commit_callbacks,
):
    import datetime as dt

    from django.core import mail

    from planning.models import ReminderDelivery
    from planning.services.cycles import cycle_start
    from planning.services.reminders import RECOVER_AFTER, reminders_send
    from tests.factories import UserFactory

    executive = UserFactory(username="exec", roles=["executive"])
    for i in range(3):
        UserFactory(username=f"sales{i}", roles=["sales"])
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=executive)
    step = cycle.steps.get(number=1)
    now = step.input_deadline - dt.timedelta(hours=3)
    _, dead_task = _app(_dead_redis() + "/0")

    # Beat's tick while Redis is down: the reminders are claimed, queueing fails quietly.
    with django_capture_on_commit_callbacks(execute=True):
        down = reminders_send(now=now, enqueue=lambda pk: enqueue_on_commit(dead_task, pk))
    assert down.claimed >= 3
    assert len(mail.outbox) == 0
    assert ReminderDelivery.objects.filter(status="pending").count() == down.claimed

    # Redis is back: a later tick recovers what was never queued and sends it, once.
    later = now + RECOVER_AFTER + dt.timedelta(minutes=1)
    back = reminders_send(now=later)
    assert back.recovered == down.claimed and back.claimed == 0
    assert len(mail.outbox) == down.claimed
    assert len({(m.to[0], m.subject) for m in mail.outbox}) == down.claimed
    reminders_send(now=later + dt.timedelta(minutes=5))
    assert len(mail.outbox) == down.claimed
    assert not ReminderDelivery.objects.filter(status="pending").exists()
