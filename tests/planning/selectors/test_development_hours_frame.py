"""The development hours' frame as the engine reads it, built without the launches'
frame: the same frame as before, with hours and without (empty columns built directly)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from planning.models import LaunchStatus
from planning.selectors.launches import cycle_launch_frames, development_hours_frame
from valuestreams.models import ValueStream

M = dt.date(2027, 3, 1)


def _row(npd, status, hours, actual=None):
    return (npd, "A", f"{npd}-F", status, M, None, actual, hours, 1)


def test_no_hours_is_the_frame_pandas_builds_from_no_rows():
    before = pd.DataFrame([], columns=["value_stream", "month", "hours"])
    for rows in (
        [],
        [_row("NPD", LaunchStatus.PLANNED, {})],
        [_row("NPD", LaunchStatus.CANCELLED, {"2027-01": 5})],
        [_row("OTHER", LaunchStatus.PLANNED, {"2027-01": 5})],
    ):
        frame = development_hours_frame(rows, [ValueStream(code="NPD")])
        pd.testing.assert_frame_equal(frame, before, check_exact=True)
        assert list(frame.columns) == list(before.columns) and frame.index.equals(before.index)
        assert frame.empty and (frame["month"] == pd.Period("2027-01", "M")).tolist() == []


def test_hours_are_cycle_launch_frames_hours():
    rows = [
        _row("NPD", LaunchStatus.PLANNED, {"2027-01": 100, "2027-02": 20.5}),
        _row(
            "NPD", LaunchStatus.LAUNCHED, {"2027-01": 7, "2027-04": 9}, actual=dt.date(2027, 3, 1)
        ),
        _row("NPD", LaunchStatus.CANCELLED, {"2027-01": 5}),
    ]
    frame = development_hours_frame(rows, [ValueStream(code="NPD")])
    pd.testing.assert_frame_equal(
        frame, cycle_launch_frames(None, [ValueStream(code="NPD")], rows)[1], check_exact=True
    )
    assert frame["hours"].tolist() == [100.0, 20.5, 7.0]
