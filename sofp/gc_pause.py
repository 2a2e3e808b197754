"""Pausing Python's cyclic garbage collector around bulk work.

Building hundreds of thousands of small objects (a plan file's cells, their rows for
the database) triggers a full collection again and again, each one walking every
object alive — a third of the CPU of a 375,000-cell import. The bulk paths create no
reference cycles worth collecting, so they pause the collector and let it run once
afterwards, as it would have.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (nested blocks are fine); the
    collector is enabled again on the way out only if it was enabled on the way in."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
