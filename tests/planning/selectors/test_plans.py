"""plan_values_frame / accuracy_inputs read values and months exactly (fast path)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.selectors.plans import _month_index, plan_values_frame
from tests.factories import PlanValueFactory

pytestmark = pytest.mark.django_db


def test_plan_values_frame_keeps_values_and_months(cycle, family_a):
    for i, value in enumerate(("0.000001", "123456789.123456", "7")):
        PlanValueFactory(
            cycle=cycle,
            product_family=family_a,
            month=dt.date(2027, 1 + i, 1),
            measure="demand",
            value=Decimal(value),
        )
    frame = plan_values_frame(cycle=cycle).sort_values("month")
    assert list(frame["value"]) == [0.000001, 123456789.123456, 7.0]
    assert [str(m) for m in frame["month"]] == ["2027-01", "2027-02", "2027-03"]
    assert str(frame["month"].dtype) == "period[M]"


def test_month_index_converts_dates_and_handles_empty():
    idx = _month_index([dt.date(2027, 12, 1), dt.date(1969, 1, 1), dt.date(2027, 12, 1)])
    assert [str(p) for p in idx] == ["2027-12", "1969-01", "2027-12"]
    assert len(_month_index([])) == 0
