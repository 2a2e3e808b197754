"""Working days and the default meeting calendar of a cycle (pure, no database)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> dt.date | None:
    """``YYYY-MM`` → first day of that month; None when it is not a real month."""
    m = MONTH_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 2999):
        return None
    return dt.date(year, month, 1)


def month_add(month: dt.date, n: int) -> dt.date:
    """First day of the month ``n`` months after ``month`` (negative goes back)."""
    y, m = divmod(month.month - 1 + n, 12)
    return dt.date(month.year + y, m + 1, 1)


def is_working_day(day: dt.date, holidays: frozenset[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def working_days_of_month(month: dt.date, holidays: Iterable[dt.date], count: int) -> list[dt.date]:
    """The first ``count`` working days of ``month`` (weekends and holidays skipped)."""
    hol = frozenset(holidays)
    day, out = month.replace(day=1), []
    while len(out) < count:
        if is_working_day(day, hol):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def previous_working_day(day: dt.date, holidays: Iterable[dt.date]) -> dt.date:
    hol = frozenset(holidays)
    day -= dt.timedelta(days=1)
    while not is_working_day(day, hol):
        day -= dt.timedelta(days=1)
    return day


@dataclass(frozen=True)
class StepSlot:
    number: int
    meeting_start: dt.datetime
    meeting_end: dt.datetime
    input_deadline: dt.datetime


def step_schedule(
    *,
    month: dt.date,
    holidays: Iterable[dt.date],
    time_zone: str,
    meeting_start: dt.time,
    meeting_minutes: int,
    input_deadline: dt.time,
    steps: int = 5,
) -> list[StepSlot]:
    """Step n meets on working day n; its inputs are due the working day before.

    Times are built in the company's zone (so 09:00 stays 09:00 across daylight-saving
    changes) and returned aware; the database stores them in UTC.
    """
    tz = zoneinfo.ZoneInfo(time_zone)
    hol = list(holidays)
    slots = []
    for n, day in enumerate(working_days_of_month(month, hol, steps), start=1):
        start = dt.datetime.combine(day, meeting_start, tzinfo=tz)
        deadline_day = previous_working_day(day, hol)
        slots.append(
            StepSlot(
                number=n,
                meeting_start=start,
                meeting_end=start + dt.timedelta(minutes=meeting_minutes),
                input_deadline=dt.datetime.combine(deadline_day, input_deadline, tzinfo=tz),
            )
        )
    return slots


def month_close_deadline(
    *, month: dt.date, holidays: Iterable[dt.date], time_zone: str, deadline: dt.time
) -> dt.datetime:
    """When the actuals of the month before ``month`` are due: working day 1 of
    ``month`` at ``deadline`` (12:00 by default), in the company's zone."""
    day = working_days_of_month(month, holidays, 1)[0]
    return dt.datetime.combine(day, deadline, tzinfo=zoneinfo.ZoneInfo(time_zone))
