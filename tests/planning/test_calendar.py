import datetime as dt
import zoneinfo

from planning.calendar import previous_working_day, step_schedule, working_days_of_month


def test_working_days_skip_weekends_and_holidays():
    # 2027-01-01 is a Friday and a holiday; then a weekend.
    days = working_days_of_month(dt.date(2027, 1, 1), [dt.date(2027, 1, 1)], 5)
    assert days == [dt.date(2027, 1, d) for d in (4, 5, 6, 7, 8)]


def test_deadline_is_the_working_day_before_even_across_months():
    assert previous_working_day(dt.date(2027, 1, 4), [dt.date(2027, 1, 1)]) == dt.date(2026, 12, 31)


def test_schedule_keeps_local_times_across_daylight_saving():
    # Amsterdam leaves summer time on 2026-10-25: meetings stay at 09:00 local.
    slots = step_schedule(
        month=dt.date(2026, 11, 1),
        holidays=[],
        time_zone="Europe/Amsterdam",
        meeting_start=dt.time(9),
        meeting_minutes=90,
        input_deadline=dt.time(12),
    )
    tz = zoneinfo.ZoneInfo("Europe/Amsterdam")
    assert all(s.meeting_start.astimezone(tz).hour == 9 for s in slots)
    assert slots[0].meeting_start.utcoffset() == dt.timedelta(hours=1)
    assert slots[0].input_deadline.astimezone(tz) == dt.datetime(2026, 10, 30, 12, tzinfo=tz)
    assert slots[0].meeting_end - slots[0].meeting_start == dt.timedelta(minutes=90)
