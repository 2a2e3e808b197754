"""The ramp covers the months from launch: the actual launch month once launched."""

from __future__ import annotations

import datetime as dt

from planning.models import Launch, LaunchStatus
from planning.selectors.launches import ramp_by_month

APR, MAY, JUN, JUL = (dt.date(2027, m, 1) for m in (4, 5, 6, 7))


def _launch(**kw) -> Launch:
    fields = {"planned_month": APR, "ramp": [10, 20, 40], "status": LaunchStatus.PLANNED}
    fields.update(kw)
    return Launch(**fields)


def test_a_planned_launch_ramps_from_its_planned_month():
    assert ramp_by_month(_launch()) == {APR: 10.0, MAY: 20.0, JUN: 40.0}


def test_a_late_launch_ramps_from_the_month_it_launched():
    late = _launch(status=LaunchStatus.LAUNCHED, actual_month=MAY)
    assert ramp_by_month(late) == {MAY: 10.0, JUN: 20.0, JUL: 40.0}


def test_launched_without_a_month_and_an_empty_ramp():
    assert ramp_by_month(_launch(status=LaunchStatus.LAUNCHED)) == {APR: 10.0, MAY: 20.0, JUN: 40.0}
    assert ramp_by_month(_launch(ramp=[])) == {}
    assert ramp_by_month(_launch(ramp=None)) == {}
