import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from planning.demo import DEMO_PASSWORD, demo_load
from planning.models import CycleStatus, PlanningCycle, PlanValue
from planning.selectors.plans import cycle_analysis
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.selectors import value_streams_visible

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 25)


def test_load_demo_twice_changes_nothing():
    demo_load(today=TODAY)
    counts = (PlanningCycle.objects.count(), PlanValue.objects.count())
    values = list(PlanValue.objects.order_by("pk").values_list("value", "version"))
    demo_load(today=TODAY)
    assert (PlanningCycle.objects.count(), PlanValue.objects.count()) == counts
    assert list(PlanValue.objects.order_by("pk").values_list("value", "version")) == values


def test_demo_has_streams_families_history_and_the_current_cycle():
    demo_load(today=TODAY)
    assert ValueStream.objects.count() == 3
    npd = ValueStream.objects.get(kind="npd")
    assert npd.serves.count() == 2
    assert 10 <= ProductFamily.objects.count() <= 14
    assert PlanningCycle.objects.filter(status=CycleStatus.APPROVED).count() == 12
    current = PlanningCycle.objects.get(month=dt.date(2026, 11, 1))
    assert current.status == CycleStatus.IN_PROGRESS and current.steps.count() == 5
    measures = set(PlanValue.objects.filter(cycle=current).values_list("measure", flat=True))
    assert measures == {
        "demand",
        "production",
        "opening_inventory",
        "actual_sales",
        "available_hours",
        "non_productive_hours",
        "conversion_cost",
        "sustaining_cost",
    }
    analysis = cycle_analysis(cycle=current)
    assert len(analysis.accuracy.stream) > 0, "history gives forecast accuracy"
    assert analysis.previous_cycle.month == dt.date(2026, 10, 1)


def test_demo_users_log_in_and_planner_sees_one_stream(capsys):
    call_command("load_demo")
    out = capsys.readouterr().out
    for name in ("executive", "finance", "sales", "planner", "manager", "admin"):
        assert name in out
        assert authenticate(username=name, password=DEMO_PASSWORD) is not None
    planner = authenticate(username="planner", password=DEMO_PASSWORD)
    assert list(value_streams_visible(user=planner).values_list("code", flat=True)) == ["PUMPS"]
    executive = authenticate(username="executive", password=DEMO_PASSWORD)
    assert value_streams_visible(user=executive).count() == 3
