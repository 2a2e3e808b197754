"""Walk a cycle in Chromium: start next month, move a step, minutes, decision, approve."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from planning.demo import demo_load
from planning.models import PlanningCycle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_executive_starts_walks_and_approves_a_cycle(login_page, live_server):
    demo_load(today=dt.date.today())
    page = login_page("executive", "sofp-demo")
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.click("[data-testid=start-next-cycle]")
    page.wait_for_load_state("networkidle")
    newest = PlanningCycle.objects.order_by("-month").first()
    assert page.url.endswith(f"/cycles/{newest.label}/")
    assert "rolled forward" in page.locator(".messages").inner_text()
    assert newest.values.exists()

    step1 = page.locator("#step-1")
    step1.get_by_role("button", name="Start step 1").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=step-1-status]").inner_text() == "In progress"
    page.fill("#minutes-1", "Forecast agreed; NPD launch moved one month.")
    page.locator("#step-1").get_by_role("button", name="Save minutes").click()
    page.wait_for_load_state("networkidle")
    page.locator("#step-1").get_by_role("button", name="Mark step 1 done").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=step-1-status]").inner_text() == "Done"

    page.fill("#decision-text", "Add a second shift on the submersible line.")
    page.fill("#decision-owner", "planner")
    page.fill("#decision-due", "2030-01-31")
    page.select_option("#decision-step", "5")
    page.get_by_role("button", name="Add decision").click()
    page.wait_for_load_state("networkidle")
    assert "second shift" in page.locator("#step-5").inner_text()

    page.screenshot(path=str(SHOTS / "cycle_walk.png"), full_page=True)

    # Approving asks first, listing what is open (the decision above among it); steps
    # 2–4 are not done, so it needs a reason; the note is kept with the frozen plan.
    page.get_by_role("button", name="Approve plan").click()
    page.wait_for_load_state("networkidle")
    open_items = page.locator("[data-testid=approval-open-items]")
    assert "second shift" in open_items.inner_text()
    assert "Open decisions" in open_items.inner_text()
    assert not PlanningCycle.objects.get(pk=newest.pk).is_frozen
    assert "not done" in page.locator(".approve-form").inner_text()
    page.fill("#override-reason", "Demo: steps 2–4 were covered in the planning meeting.")
    page.fill("#approval-note", "Second shift decided; the March overload is accepted.")
    docs_shots = Path(__file__).resolve().parents[2] / os.environ.get(
        "SOFP_SCREENSHOTS", "var/screenshots"
    )
    docs_shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(docs_shots / "step5-approve-confirm.png"), full_page=True)
    page.get_by_role("button", name="Yes, approve").click()
    page.wait_for_load_state("networkidle")
    assert "March overload is accepted" in page.locator("[data-testid=approval-note]").inner_text()
    assert page.locator("[data-testid=cycle-status]").inner_text() == "Approved (frozen)"
    assert page.locator("[data-testid=frozen-banner]").is_visible()
    assert page.locator("[data-testid=step-5-status]").inner_text() == "Done"
    assert page.locator("#minutes-1").count() == 0  # read-only now
    page.screenshot(path=str(SHOTS / "cycle_approved.png"), full_page=True)
    newest.refresh_from_db()
    assert newest.is_frozen


def test_planner_sees_reminders_with_a_badge_and_marks_them_read(login_page):
    from planning.services.reminders import reminders_send

    demo_load(today=dt.date.today())
    cycle = PlanningCycle.objects.order_by("-month").first()
    step = cycle.steps.exclude(status="done").order_by("number").first()
    reminders_send(now=step.input_deadline - dt.timedelta(hours=2))
    page = login_page("planner", "sofp-demo")
    badge = page.locator(".nav-notifications .nav-badge")
    assert badge.is_visible() and int(badge.inner_text()) >= 1
    page.click(".nav-notifications")
    page.wait_for_load_state("networkidle")
    assert f"Inputs for step {step.number}" in page.locator("main").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "notifications.png"), full_page=True)
    page.click("[data-testid=mark-all-read]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".nav-notifications .nav-badge").count() == 0
