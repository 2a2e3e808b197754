"""A test clock on a fixed day that still runs: pages compared with each other are
rendered on the same company day however long the test takes or when it runs (a run
across midnight in the company's zone, on the last day of a month, moves the closed
month between two renders), while ``updated_at`` and stamps still move with time."""

from __future__ import annotations

import datetime as dt
import time

from django.utils import timezone


def pin_day(monkeypatch, start: dt.datetime) -> None:
    """``timezone.now()`` runs on from ``start`` (UTC, well inside one company day) as
    real seconds pass; ``timezone.localdate()`` is ``start``'s date."""
    began = time.monotonic()
    monkeypatch.setattr(
        timezone, "now", lambda: start + dt.timedelta(seconds=time.monotonic() - began)
    )
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: start.date())
