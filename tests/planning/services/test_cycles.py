"""Starting a month's cycle: schedule, participants and the plan rolled forward."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from planning.models import AuditEvent, Holiday, PlanningCycle, PlanValue
from planning.services.cycles import cycle_start
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import ApplicationError, PermissionDenied
from tests.factories import CycleFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def _approved_plan(month: dt.date, family, stream, horizon: int = 3) -> PlanningCycle:
    cycle = CycleFactory(month=month, horizon=horizon)
    vs, fam = stream.code, family.code
    m = [dt.date(month.year, month.month + i, 1) for i in range(horizon)]
    cells = [
        CellInput(vs, fam, m[0], "opening_inventory", Decimal("50")),
        CellInput(vs, fam, m[0], "demand", Decimal("100")),
        CellInput(vs, fam, m[1], "demand", Decimal("110")),
        CellInput(vs, fam, m[2], "demand", Decimal("130")),
        CellInput(vs, fam, m[0], "production", Decimal("120.3333333")),
        CellInput(vs, fam, m[1], "production", Decimal("100")),
        CellInput(vs, fam, m[2], "production", Decimal("140")),
        CellInput(vs, "", m[2], "available_hours", Decimal("800")),
        CellInput("", "", m[2], "sustaining_cost", Decimal("9000")),
        CellInput(vs, fam, dt.date(2026, 12, 1), "actual_sales", Decimal("95")),
        CellInput(vs, fam, dt.date(2026, 1, 1), "actual_sales", Decimal("80")),
    ]
    plan_values_upsert(cycle=cycle, cells=cells, user=None, source="demo")
    cycle.status = "approved"
    cycle.approved_at = dt.datetime(2027, 1, 8, 12, tzinfo=dt.UTC)
    cycle.save()
    return cycle


def _value(cycle, measure, month, family=None):
    qs = PlanValue.objects.filter(cycle=cycle, measure=measure, month=month)
    if family is not None:
        qs = qs.filter(product_family=family)
    row = qs.first()
    return None if row is None else row.value


def test_start_schedules_five_steps_on_working_days_in_company_time(executive, company):
    Holiday.objects.create(company=company, date=dt.date(2027, 3, 1), name="Closed")
    cycle, _ = cycle_start(month=dt.date(2027, 3, 1), user=executive)
    steps = list(cycle.steps.order_by("number"))
    local = [s.meeting_start.astimezone(AMS) for s in steps]
    # 1 March 2027 is a Monday but a holiday: steps on 2–5 and 8 March, 09:00 local.
    assert [d.date().day for d in local] == [2, 3, 4, 5, 8]
    assert all(d.hour == 9 for d in local)
    # Inputs due 12:00 the working day before (Friday 26 Feb for step 1: skips the holiday).
    assert steps[0].input_deadline.astimezone(AMS) == dt.datetime(2027, 2, 26, 12, tzinfo=AMS)
    assert steps[4].input_deadline.astimezone(AMS) == dt.datetime(2027, 3, 5, 12, tzinfo=AMS)
    assert cycle.status == "in_progress"


def test_start_fills_participants_from_owner_role_and_stream_members(
    executive, finance_user, planner_a, stream_a
):
    UserFactory(username="sal", roles=["sales"])
    manager = UserFactory(username="mgr")
    MembershipFactory(user=manager, value_stream=stream_a, role="manager")
    cycle, _ = cycle_start(month=dt.date(2027, 3, 1), user=executive)
    by_number = {
        s.number: set(s.participants.values_list("username", flat=True)) for s in cycle.steps.all()
    }
    assert by_number[1] == {"sal", "planner_a", "mgr"}
    assert by_number[2] == {"mgr", "planner_a"}
    assert by_number[4] == {"fin", "planner_a", "mgr"}
    assert by_number[5] == {"exec", "planner_a", "mgr"}


def test_start_rolls_the_last_approved_plan_forward(executive, family_a, stream_a):
    previous = _approved_plan(dt.date(2027, 1, 1), family_a, stream_a)
    cycle, info = cycle_start(month=dt.date(2027, 2, 1), user=executive)
    assert cycle.horizon == 3 and cycle.based_on == previous and info.based_on == previous
    feb, mar, apr = dt.date(2027, 2, 1), dt.date(2027, 3, 1), dt.date(2027, 4, 1)
    assert _value(cycle, "demand", feb) == Decimal("110")
    assert _value(cycle, "demand", mar) == Decimal("130")
    assert _value(cycle, "demand", apr) == Decimal("130")  # new last month copies the old last
    assert _value(cycle, "production", apr) == Decimal("140")
    assert _value(cycle, "available_hours", apr) == Decimal("800")
    assert _value(cycle, "sustaining_cost", apr) == Decimal("9000")
    assert _value(cycle, "demand", dt.date(2027, 1, 1)) is None  # left the horizon
    # Opening inventory = previous plan's ending inventory of January, 6 decimals.
    assert _value(cycle, "opening_inventory", feb) == Decimal("70.333333")
    # Actual sales within the 12-month window before February 2027: the facts (the
    # store), filled when the cycle was created, not the approved plan's copy.
    assert _value(cycle, "actual_sales", dt.date(2026, 12, 1)) == Decimal("95")
    assert _value(cycle, "actual_sales", dt.date(2026, 1, 1)) is None
    sources = list(cycle.values.values_list("measure", "changes__source"))
    assert {src for measure, src in sources if measure == "actual_sales"} == {"actuals"}
    assert {src for measure, src in sources if measure != "actual_sales"} == {"roll_forward"}
    event = AuditEvent.objects.get(cycle=cycle, action="start")
    assert event.user == executive and "2027-01" in event.note


def test_roll_forward_opens_a_shortage_at_zero(executive, family_a, stream_a):
    previous = CycleFactory(month=dt.date(2027, 1, 1), horizon=3)
    plan_values_upsert(
        cycle=previous,
        cells=[CellInput("A", "A-1", dt.date(2027, 1, 1), "demand", Decimal("40"))],
        user=None,
    )
    previous.status, previous.approved_at = "approved", dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    previous.save()
    cycle, info = cycle_start(month=dt.date(2027, 2, 1), user=None)
    assert info.clamped == ["A-1"]
    assert _value(cycle, "opening_inventory", dt.date(2027, 2, 1)) == Decimal("0")


def test_start_without_an_approved_cycle_starts_empty(executive):
    CycleFactory(month=dt.date(2027, 1, 1))  # not approved: not a base
    cycle, info = cycle_start(month=dt.date(2027, 2, 1), user=executive)
    assert info.based_on is None and not cycle.values.exists()


def test_start_refuses_an_existing_month_and_changes_nothing(executive, cycle):
    with pytest.raises(ApplicationError, match="already exists"):
        cycle_start(month=dt.date(2027, 1, 1), user=executive)
    assert PlanningCycle.objects.count() == 1


def test_planner_cannot_start_a_cycle(planner_a):
    with pytest.raises(PermissionDenied):
        cycle_start(month=dt.date(2027, 1, 1), user=planner_a)
    assert not PlanningCycle.objects.exists()


def test_start_cycle_command(capsys, family_a, stream_a):
    _approved_plan(dt.date(2027, 1, 1), family_a, stream_a)
    call_command("start_cycle", "2027-02")
    out = capsys.readouterr().out
    assert "Started cycle 2027-02" in out and "Rolled forward from 2027-01" in out
    assert "Mon 2027-02-01 09:00 CET" in out
    with pytest.raises(CommandError, match="already exists"):
        call_command("start_cycle", "2027-02")
    with pytest.raises(CommandError, match="not a month"):
        call_command("start_cycle", "2027-13")
