"""Health endpoints for container orchestration.

``/health/live``: the process answers (no database, no broker) — restart it if not.
``/health/ready``: the database answers, the Celery broker is reachable and no migration
is waiting — send traffic only if so. Both return JSON; 200 when fine, 503 when not.
Neither needs a login, and both are exempt from the HTTPS redirect (settings) so a
healthcheck inside the container can use plain HTTP.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0
_migrations_done = False  # once true it stays true: new migrations come with a new process


def check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


# One Redis client per broker URL, kept for the process: the readiness probe runs every
# few seconds, and a kombu Connection built for each (a channel, a new socket, redis-py
# reading its own package metadata) cost ten times the ping itself.
_redis_clients: dict[str, Any] = {}


def _redis_client(url: str) -> Any:
    client = _redis_clients.get(url)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
            # One try: the probe reports the broker as it is now, within its timeout.
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        _redis_clients[url] = client
    return client


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        # PING on a pooled connection: a broken or closed one is dropped by the pool, so
        # an outage is reported at once and a recovered broker on the next probe.
        if not _redis_client(url).ping():
            raise RuntimeError("broker did not answer PING")
        return
    if url.startswith("filesystem://"):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        folder = Path(options.get("data_folder_in", ""))
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise RuntimeError(f"broker folder {folder} is missing or not writable")
        return
    from kombu import Connection

    with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)


def check_migrations() -> None:
    global _migrations_done
    if _migrations_done:
        return
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        raise RuntimeError(f"{len(plan)} unapplied migration(s): {names}")
    _migrations_done = True


def _run(check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # a failing dependency is the answer, not an error
        logger.warning("readiness check %s failed: %s", check.__name__, exc)
        return {"ok": False, "error": str(exc)[:300], "ms": _ms(started)}
    return {"ok": True, "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _run(check_database),
        "migrations": _run(check_migrations),
        "broker": _run(check_broker),
    }
    required = {"database", "migrations"}
    if getattr(settings, "HEALTH_READY_REQUIRES_BROKER", True):
        required.add("broker")
    ok = all(checks[name]["ok"] for name in required)
    body = {"status": "ok" if ok else "fail", "checks": checks}
    return JsonResponse(body, status=200 if ok else 503)
