"""Enqueue Celery work from web requests without making the request depend on the broker.

Every periodic job that the web tier triggers is also found by a beat tick (reminders are
computed from the database, and each sending is recorded in a unique row), so a task that
could not be queued is only late, never lost. Web code therefore calls
``enqueue_on_commit(task, *args)`` rather than ``task.delay``: the message is sent after the
transaction commits, and a broker outage is logged instead of turning into a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Any, *args: Any, **kwargs: Any) -> bool:
    """Send ``task`` now; return False (and log) if the broker cannot take it."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception as exc:  # kombu raises transport-specific errors; all mean "not queued"
        logger.warning(
            "could not queue %s; beat will catch up: %s",
            getattr(task, "name", task),
            exc,
            extra={"task": getattr(task, "name", str(task))},
        )
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
