"""NPD launches in Chromium: an executive creates a launch on the register page, sales
sees its ramp under the new family's demand and uses it, and after the plan is approved
and the launch moved later, step 5 shows "launch slipped"."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from planning.models import Launch, PlanValueChange
from planning.services.approval import cycle_approve
from planning.services.cycles import cycle_start
from tests.browser.test_grid import cell, open_grid, stored, wait_saved
from tests.factories import CycleFactory, ProductFamilyFactory, UserFactory, ValueStreamFactory
from valuestreams.models import ValueStream

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
JAN = dt.date(2027, 1, 1)


def _shots() -> Path:
    path = Path(__file__).resolve().parents[2] / os.environ.get(
        "SOFP_SCREENSHOTS", "var/screenshots"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def world(db):
    ValueStreamFactory(
        code="NPD", name="New product development", kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT
    )
    pumps = ValueStreamFactory(code="PUMPS", name="Industrial pumps")
    ProductFamilyFactory(code="PMP-CEN", value_stream=pumps)
    cycle = CycleFactory(month=JAN, horizon=6, status="in_progress")
    UserFactory(username="boss", roles=["executive"])
    UserFactory(username="seller", roles=["sales"])
    return cycle


def test_create_a_launch_use_its_ramp_and_see_it_slip(world, login_page, live_server):
    boss = login_page("boss")
    boss.goto(f"{live_server.url}/cycles/2027-01/launches/")
    expect(boss.get_by_text("No launches in this cycle yet")).to_be_visible()
    form = boss.get_by_test_id("launch-create")
    form.locator("select[name=npd_stream]").select_option("NPD")
    form.locator("select[name=receiving_stream]").select_option("PUMPS")
    form.locator("input[name=product_family]").fill("PMP-NEW")
    form.locator("input[name=family_name]").fill("Smart pump")
    form.locator("input[name=planned_month]").fill("2027-03")
    form.locator("input[name=unit_price]").fill("900")
    form.locator("input[name=hours_per_unit]").fill("3")
    form.locator("input[name=ramp]").fill("20, 40, 60, 80")
    form.locator("input[name=development_hours]").fill("2027-01: 120, 2027-02: 160")
    boss.get_by_test_id("create-launch").click()
    expect(boss.get_by_text("Launch PMP-NEW created")).to_be_visible()
    expect(boss.locator('tr[data-launch="PMP-NEW"]')).to_contain_text("Planned")
    boss.screenshot(path=str(_shots() / "launches-register.png"), full_page=True)

    # Step 1: the ramp under the new family's demand; "Use ramp" copies the selection.
    seller = open_grid(login_page("seller"), live_server, "/cycles/2027-01/demand/PUMPS/")
    ramp = cell(seller, "PMP-NEW|launch_ramp", "m2027-03")
    expect(ramp).to_have_text("20")
    row = seller.locator('.tabulator-row[data-row-id="PMP-NEW|launch_ramp"]')
    assert "row-ramp" in row.get_attribute("class")
    ramp.click()
    for _ in range(3):
        seller.keyboard.press("Shift+ArrowRight")
    seller.get_by_test_id("use-ramp").click()
    wait_saved(seller)
    expect(cell(seller, "PMP-NEW|demand", "m2027-06")).to_have_text("80")
    assert [stored(world, "PMP-NEW", "demand", dt.date(2027, m, 1)) for m in (3, 4, 5, 6)] == [
        Decimal("20"),
        Decimal("40"),
        Decimal("60"),
        Decimal("80"),
    ]
    assert PlanValueChange.objects.filter(source="use_ramp").count() == 4
    seller.screenshot(path=str(_shots() / "launches-demand-ramp.png"), full_page=False)

    # The plan is approved (commits March), February starts, and the launch moves to May.
    world.steps.update(status="done")
    from django.contrib.auth import get_user_model

    executive = get_user_model().objects.get(username="boss")
    cycle_approve(cycle=world, user=executive)
    cycle_start(month=dt.date(2027, 2, 1), user=executive)
    assert Launch.objects.get(cycle__month=dt.date(2027, 2, 1)).committed_month == dt.date(
        2027, 3, 1
    )
    boss.goto(f"{live_server.url}/cycles/2027-02/launches/")
    edit = boss.get_by_test_id("launch-edit-PMP-NEW")
    edit.locator("input[name=planned_month]").fill("2027-05")
    edit.get_by_role("button", name="Save").click()
    expect(boss.get_by_text("Launch PMP-NEW saved")).to_be_visible()
    expect(boss.get_by_test_id("launch-late")).to_have_text("2 months late")

    boss.goto(f"{live_server.url}/cycles/2027-02/review/?exception_kind=launch_slipped#exceptions")
    slipped = boss.locator('tr[data-key^="launch_slipped:PUMPS:PMP-NEW"]')
    expect(slipped).to_contain_text(
        "Launch slipped 2 months: committed 2027-03, now planned 2027-05"
    )
    expect(slipped).to_contain_text("2 months late")
    slipped.scroll_into_view_if_needed()
    boss.screenshot(path=str(_shots() / "launches-slipped-exception.png"), full_page=False)


def test_a_launch_created_in_one_cycle_shows_in_every_open_cycles_prices(
    world, login_page, live_server
):
    """Issue 19: the new family reaches each open cycle's master copy, not a frozen one."""
    CycleFactory(month=dt.date(2027, 2, 1), horizon=6, status="draft")
    from django.utils import timezone

    CycleFactory(
        month=dt.date(2026, 12, 1), horizon=6, status="approved", approved_at=timezone.now()
    )
    UserFactory(username="fin", roles=["finance"])
    boss = login_page("boss")
    boss.goto(f"{live_server.url}/cycles/2027-01/launches/")
    form = boss.get_by_test_id("launch-create")
    form.locator("select[name=npd_stream]").select_option("NPD")
    form.locator("select[name=receiving_stream]").select_option("PUMPS")
    form.locator("input[name=product_family]").fill("PMP-TWO")
    form.locator("input[name=planned_month]").fill("2027-04")
    form.locator("input[name=unit_price]").fill("700")
    boss.get_by_test_id("create-launch").click()
    expect(boss.get_by_text("Launch PMP-TWO created")).to_be_visible()
    fin = login_page("fin")
    for label in ("2027-01", "2027-02"):
        fin.goto(f"{live_server.url}/cycles/{label}/prices/")
        expect(fin.locator('tr[data-family="PMP-TWO"]')).to_have_count(1)
    fin.screenshot(path=str(_shots() / "launches-other-cycle-prices.png"), full_page=True)
    fin.goto(f"{live_server.url}/cycles/2026-12/prices/")
    expect(fin.locator('tr[data-family="PMP-CEN"]')).to_have_count(1)
    expect(fin.locator('tr[data-family="PMP-TWO"]')).to_have_count(0)
