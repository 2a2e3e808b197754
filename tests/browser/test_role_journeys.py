"""Each role does its step in Chromium on the demo company, as on a Monday of the cycle:
sales (step 1), planner (step 2), value stream manager (step 3), finance (step 4),
executive (step 5). Each journey types at machine speed, checks the database, fails on
any console error and leaves a screenshot of its step.

Screenshots go to ``var/screenshots/`` (ignored); ``SOFP_SCREENSHOTS=docs/screenshots``
writes the ones committed in ``docs/`` instead.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from planning.calendar import month_add
from planning.demo import DEMO_PASSWORD, demo_load
from planning.models import CycleFamily, PlanningCycle, PlanValue, StepStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / os.environ.get("SOFP_SCREENSHOTS", "var/screenshots")
PASTE = """t => { const d = new DataTransfer(); d.setData('text/plain', t);
  document.activeElement.dispatchEvent(new ClipboardEvent('paste',
  {clipboardData: d, bubbles: true, cancelable: true})); }"""


@pytest.fixture
def demo(db):
    """The demo company on the first day of this month: the cycle is open, step 1 under
    way, nothing else started."""
    today = timezone.localdate()
    demo_load(today=today.replace(day=1))
    cycle = PlanningCycle.objects.order_by("-month").first()
    cycle.steps.update(status=StepStatus.NOT_STARTED)
    cycle.steps.filter(number=1).update(status=StepStatus.IN_PROGRESS)
    return cycle


@pytest.fixture
def as_user(watched):
    """A demo user's page (the demo's password), console errors collected."""
    return lambda username: watched(username, DEMO_PASSWORD)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def cell(page, row_id: str, field: str):
    return page.locator(
        f'.tabulator-row[data-row-id="{row_id}"] .tabulator-cell[tabulator-field="{field}"]'
    )


def ready(page) -> None:
    page.wait_for_selector("#grid[data-ready='1']")


def saved(page) -> None:
    page.wait_for_function("window.sofpGrid && window.sofpGrid.idle()")


def value(cycle, measure: str, month: dt.date, family: str | None = None, stream=None):
    qs = PlanValue.objects.filter(cycle=cycle, measure=measure, month=month)
    if family:
        qs = qs.filter(product_family__code=family)
    if stream:
        qs = qs.filter(value_stream__code=stream, product_family__isnull=True)
    pv = qs.first()
    return None if pv is None else pv.value


def mark_done(page, cycle, number: int) -> None:
    page.goto(f"{page.url.split('/', 3)[0]}//{page.url.split('/')[2]}/cycles/{cycle.label}/")
    page.locator(f"#step-{number}").get_by_role("button", name=f"Mark step {number} done").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(f"[data-testid=step-{number}-status]")).to_have_text("Done")


def set_steps(cycle, done: tuple[int, ...], in_progress: int) -> None:
    cycle.steps.filter(number__in=done).update(status=StepStatus.DONE)
    cycle.steps.filter(number=in_progress).update(status=StepStatus.IN_PROGRESS)


def m(cycle, i: int) -> dt.date:
    return month_add(cycle.month, i)


def test_sales_forecasts_demand_in_the_demand_view(demo, as_user, live_server):
    page = as_user("sales")
    page.click("summary:has-text('Plan')")
    page.get_by_role("link", name="PUMPS demand").click()
    ready(page)
    assert "Last approved (" in page.locator("#grid").inner_text()
    f1 = f"m{m(demo, 1):%Y-%m}"
    # Two families × three months from Excel, then typing at machine speed.
    cell(page, "PMP-CEN|demand", f1).click()
    page.evaluate(PASTE, "301\t302\t303\n401\t402\t403\n")
    saved(page)
    cell(page, "PMP-SPR|demand", f1).click()
    for text in ("1500", "1510", "1520"):
        page.keyboard.type(text, delay=0)
        page.keyboard.press("Tab")
    saved(page)
    assert value(demo, "demand", m(demo, 1), "PMP-CEN") == Decimal("301")
    assert value(demo, "demand", m(demo, 3), "PMP-DOS") == Decimal("403")
    assert value(demo, "demand", m(demo, 3), "PMP-SPR") == Decimal("1520")
    # The assumption behind a number, as a comment on its cell.
    cell(page, "PMP-CEN|demand", f1).click()
    page.keyboard.press("Shift+F2")
    page.fill("#cell-comment", "Includes the Acme tender (50 units)")
    page.click("#cell-save-comment")
    expect(page.locator("#grid-status")).to_have_text("Comment saved")
    assert "is-linked" not in (cell(page, "PMP-CEN|demand", f1).get_attribute("class") or "")
    shot(page, "step1-sales-demand-view")
    pv = PlanValue.objects.get(
        cycle=demo, product_family__code="PMP-CEN", measure="demand", month=m(demo, 1)
    )
    assert pv.comment == "Includes the Acme tender (50 units)"
    # Production is not sales': the full grid says why and nothing is sent.
    page.goto(f"{live_server.url}/cycles/{demo.label}/grid/PUMPS/")
    ready(page)
    cell(page, "PMP-CEN|production", f1).click()
    page.keyboard.type("9")
    expect(page.locator("#grid-status")).to_contain_text("your role does not change")
    mark_done(page, demo, 1)
    shot(page, "step1-sales-cycle")


def test_planner_plans_production_and_capacity(demo, as_user, live_server):
    set_steps(demo, done=(1,), in_progress=2)
    page = as_user("planner")
    page.click("summary:has-text('Plan')")
    page.locator(".nav-menu-list a[href$='/grid/PUMPS/']").click()
    ready(page)
    f0, f1 = (f"m{m(demo, i):%Y-%m}" for i in (0, 1))
    cell(page, "PMP-CEN|production", f1).click()
    for text in ("250", "260", "270", "280"):
        page.keyboard.type(text, delay=0)
        page.keyboard.press("Tab")
    saved(page)
    assert [value(demo, "production", m(demo, i), "PMP-CEN") for i in (1, 2, 3, 4)] == [
        250,
        260,
        270,
        280,
    ]
    # Capacity: available and non-productive hours pasted as a block.
    cell(page, "|available_hours", f0).click()
    page.evaluate(PASTE, "2400\t2400\t2500\n300\t300\t320\n")
    saved(page)
    assert value(demo, "non_productive_hours", m(demo, 2), stream="PUMPS") == 320
    # Conversion cost is finance's.
    cell(page, "|conversion_cost", f0).click()
    page.keyboard.type("1")
    expect(page.locator("#grid-status")).to_contain_text("your role does not change")
    shot(page, "step2-planner-grid")
    # Marking step 2 done is for the value stream managers.
    page.goto(f"{live_server.url}/cycles/{demo.label}/")
    assert page.locator("#step-2").get_by_role("button", name="Mark step 2 done").count() == 0


def test_manager_reconciles_every_stream(demo, as_user, live_server):
    set_steps(demo, done=(1,), in_progress=2)
    page = as_user("manager")
    page.click("summary:has-text('Plan')")
    page.get_by_role("link", name="Reconcile streams").click()
    page.wait_for_load_state("networkidle")
    table = page.locator("#reconcile")
    for code in ("PUMPS", "VALVES", "NPD"):
        expect(table).to_contain_text(code)
    expect(page.locator("[data-testid=npd-NPD]")).to_contain_text("serves PUMPS, VALVES")
    shot(page, "step3-manager-reconcile")
    # A number links into its grid: PUMPS is read-only for VALVES' manager.
    util = page.locator("a[href*='/grid/PUMPS/'][href*='measure=utilization']").first
    util.click()
    ready(page)
    linked = page.locator(".tabulator-cell.is-linked")
    expect(linked).to_have_count(1)
    expect(page.locator("#readonly-reason")).to_contain_text("not a planner or manager")
    # Its own stream: adds capacity where VALVES is short.
    link = f"/cycles/{demo.label}/grid/VALVES/?month={m(demo, 2):%Y-%m}&measure=available_hours"
    page.goto(live_server.url + link)
    ready(page)
    page.keyboard.type("3100", delay=0)
    page.keyboard.press("Enter")
    saved(page)
    assert value(demo, "available_hours", m(demo, 2), stream="VALVES") == 3100
    mark_done(page, demo, 2)
    page.locator("#step-3").get_by_role("button", name="Start step 3").click()
    page.wait_for_load_state("networkidle")
    mark_done(page, demo, 3)
    shot(page, "step3-manager-cycle")


def test_finance_turns_the_plan_into_money(demo, as_user, live_server):
    set_steps(demo, done=(1, 2, 3), in_progress=4)
    page = as_user("finance")
    page.goto(f"{live_server.url}/cycles/{demo.label}/grid/VALVES/")
    ready(page)
    f0 = f"m{m(demo, 0):%Y-%m}"
    cell(page, "|conversion_cost", f0).click()
    for text in ("410000", "415000", "420000"):
        page.keyboard.type(text, delay=0)
        page.keyboard.press("Tab")
    saved(page)
    assert value(demo, "conversion_cost", m(demo, 2), stream="VALVES") == 420000
    page.goto(f"{live_server.url}/cycles/{demo.label}/company/")
    ready(page)
    cell(page, "|sustaining_cost", f0).click()
    page.keyboard.type("250000", delay=0)
    page.keyboard.press("Enter")
    saved(page)
    assert value(demo, "sustaining_cost", m(demo, 0)) == 250000
    shot(page, "step4-finance-company")
    # Demand is not finance's to change.
    page.goto(f"{live_server.url}/cycles/{demo.label}/grid/VALVES/")
    ready(page)
    cell(page, "VLV-BAL|demand", f0).click()
    page.keyboard.type("1")
    expect(page.locator("#grid-status")).to_contain_text("your role does not change")
    # The cycle's prices and costs, with their history.
    page.click("summary:has-text('Plan')")
    page.get_by_role("link", name="Prices and costs").click()
    page.fill("input[name='unit_price:VLV-BAL']", "335")
    page.click("[data-testid=save-prices]")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#price-history")).to_contain_text("VLV-BAL")
    # The cycle's own price (its master copy), not the master's.
    copy = CycleFamily.objects.get(cycle=demo, product_family__code="VLV-BAL")
    assert copy.unit_price == 335
    shot(page, "step4-finance-prices")
    mark_done(page, demo, 4)


def test_executive_reviews_follows_an_exception_and_approves(demo, as_user, live_server):
    set_steps(demo, done=(1, 2, 3, 4), in_progress=5)
    page = as_user("executive")
    page.goto(f"{live_server.url}/review/")
    expect(page.locator("h1")).to_contain_text(demo.label)
    shot(page, "step5-executive-review")
    link = page.locator("#exceptions a:has-text('Open in grid')").first
    href = link.get_attribute("href")
    assert "?" in href and "measure=" in href
    link.click()
    ready(page)
    expect(page.locator(".tabulator-cell.is-linked")).to_have_count(1)
    page.goto(f"{live_server.url}/cycles/{demo.label}/")
    page.get_by_role("button", name="Approve plan").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=approval-open-items]")).to_be_visible()
    page.get_by_role("button", name="Yes, approve").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=cycle-status]")).to_have_text("Approved (frozen)")
    demo.refresh_from_db()
    assert demo.is_frozen
    # Home leads to the newest approved cycle now; after the next cycle starts, to it.
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text(f"Cycle {demo.label}")
    page.click("[data-testid=start-next-cycle]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text(f"Cycle {month_add(demo.month, 1):%Y-%m}")
    shot(page, "step5-executive-home-next-cycle")
