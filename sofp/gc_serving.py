"""The cyclic garbage collector of a serving process (gunicorn's ``post_worker_init``).

A worker imports Django, pandas, NumPy and every app once, and keeps those objects for
its whole life; Python's collector walks all of them again at every full collection
(about 100 ms on this app, stopping every thread of the worker), and a request's
allocations start a young collection every 700. Measured in process over the load
test's mix, collecting took about 8% of the CPU. So, once the app is loaded:

* ``gc.freeze()`` moves everything alive into a generation the collector never walks
  (nothing is freed that could be: it is all still referenced);
* a higher first threshold makes young collections rarer; garbage in reference cycles
  is still collected, a little later.

Memory only, never behaviour: the same objects are freed, at other times.
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)


def parse_threshold(raw: str) -> tuple[int, ...] | None:
    """``"50000,20,100"`` → ``(50000, 20, 100)``; empty → None (Python's own)."""
    raw = raw.strip()
    if not raw:
        return None
    values = tuple(int(part) for part in raw.split(","))
    if not 1 <= len(values) <= 3 or any(v < 0 for v in values):
        raise ValueError(f"a collector threshold is one to three whole numbers: {raw!r}")
    return values


def load_urls() -> None:
    """Import every view now (the URLconf imports them) rather than at the first
    request, so that they are loaded before the freeze. An error stays where it was:
    it is logged here, and the first request meets it as before."""
    try:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - imports the URLconf and its views
    except Exception:
        logger.exception("the URLconf did not load at worker start")


def tune_for_serving(*, freeze: bool, threshold: tuple[int, ...] | None) -> None:
    """Freeze what the loaded app holds and set the collector's thresholds."""
    if freeze:
        load_urls()
        gc.collect()  # what is garbage now is freed, not frozen
        gc.freeze()
    if threshold is not None:
        gc.set_threshold(*threshold)
    logger.info(
        "garbage collector: %d objects frozen, thresholds %s",
        gc.get_freeze_count(),
        gc.get_threshold(),
    )
