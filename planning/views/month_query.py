"""``?month=`` on pages: one reading, and a message naming a bad value (never a silent
fallback)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest

from planning.calendar import parse_month


def month_query(request: HttpRequest, *, instead: str) -> dt.date | None:
    """The month of ``?month=YYYY-MM``, or None when absent or not a month; a bad value
    adds a warning naming it and what the page shows ``instead``."""
    text = request.GET.get("month", "").strip()
    if not text:
        return None
    month = parse_month(text)
    if month is None:
        messages.warning(
            request, f"“{text[:40]}” is not a month (write YYYY-MM, e.g. 2027-01): {instead}."
        )
    return month
