"""Home, the Plan menu and /review/ lead to the cycle being planned: the newest cycle
that is not frozen, else the newest approved one."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from planning.models import PlanningCycle
from planning.selectors.plans import cycle_current
from tests.factories import PASSWORD, CycleFactory

pytestmark = pytest.mark.django_db


def test_the_newest_open_cycle_else_the_newest_approved(db):
    assert cycle_current() is None
    CycleFactory(month=dt.date(2026, 10, 1), status="approved")
    approved = CycleFactory(month=dt.date(2026, 11, 1), status="approved")
    assert cycle_current() == approved
    draft = CycleFactory(month=dt.date(2026, 12, 1), status="draft")
    assert cycle_current() == draft
    # An open older cycle still beats a newer frozen one only if it is the newest open.
    CycleFactory(month=dt.date(2027, 1, 1), status="approved")
    assert cycle_current() == draft


def test_after_start_cycle_home_menu_and_review_show_the_new_cycle(
    client, planner_a, family_a, executive
):
    CycleFactory(month=dt.date(2026, 11, 1), status="approved")
    client.login(username=planner_a.username, password=PASSWORD)
    home = client.get("/").content.decode()
    assert "Cycle 2026-11" in home
    call_command("start_cycle", "2026-12", stdout=io.StringIO())
    assert PlanningCycle.objects.get(month=dt.date(2026, 12, 1)).status != "approved"
    home = client.get("/").content.decode()
    assert "Cycle 2026-12" in home
    assert "/cycles/2026-12/grid/A/" in home  # the Plan menu
    assert "/cycles/2026-11/grid/" not in home
    client.login(username=executive.username, password=PASSWORD)
    review = client.get("/review/")
    assert review.status_code == 200
    assert review.context["cycle"].label == "2026-12"
