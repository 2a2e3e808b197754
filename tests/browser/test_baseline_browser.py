"""The statistical baseline and forecast value added in Chromium: sales computes the
baseline from the cycle page, watches the progress, cancels a run; the review shows FVA."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from planning.calendar import month_add
from planning.models import BaselineRun
from planning.services.baseline import baseline_request
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.celery import app as celery_app
from tests.factories import CycleFactory, ProductFamilyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
JAN = dt.date(2027, 1, 1)


@pytest.fixture
def plan(stream_a, stream_b):
    """A-1 and A-2 with 24 months of sales, B-1 with 2; cycle 2027-01 in progress."""
    UserFactory(username="sal", roles=["sales"])
    UserFactory(username="exec", roles=["executive"])
    fams = [
        ProductFamilyFactory(code="A-1", value_stream=stream_a),
        ProductFamilyFactory(code="A-2", value_stream=stream_a),
        ProductFamilyFactory(code="B-1", value_stream=stream_b),
    ]
    history = CycleFactory(month=dt.date(2026, 1, 1), horizon=12)
    cells = [
        CellInput(
            f.value_stream.code,
            f.code,
            month_add(dt.date(2025, 1, 1), m),
            "actual_sales",
            Decimal(100 + 20 * (m % 12 in (5, 6, 7)) + 7 * i + m),
        )
        for i, f in enumerate(fams[:2])
        for m in range(24)
    ]
    cells += [
        CellInput("B", "B-1", dt.date(2026, 11, 1), "actual_sales", Decimal("5")),
        CellInput("B", "B-1", dt.date(2026, 12, 1), "actual_sales", Decimal("6")),
    ]
    plan_values_upsert(cycle=history, cells=cells, user=None, source="demo")
    return CycleFactory(month=JAN, horizon=6, status="in_progress")


@pytest.fixture
def eager_tasks():
    """No worker in this test: the chunks run inside the request once it commits."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


def test_sales_computes_the_baseline_and_reads_each_familys_method(
    plan, eager_tasks, login_page, live_server
):
    page = login_page("sal")
    page.goto(f"{live_server.url}/cycles/2027-01/")
    page.get_by_test_id("baseline-link").click()
    expect(page.get_by_test_id("baseline-status")).to_have_text("Not computed yet")
    page.get_by_test_id("baseline-compute").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("baseline-status")).to_have_text("Done")
    expect(page.get_by_test_id("baseline-count")).to_have_text("3 of 3")
    fits = page.get_by_test_id("baseline-fits")
    expect(fits.locator('tr[data-family="A-1"]')).to_contain_text("AutoETS")
    expect(fits.locator('tr[data-family="B-1"]')).to_contain_text("Only 2 months")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "baseline_page.png"), full_page=True)


def test_progress_shows_and_cancel_stops_a_run(plan, login_page, live_server):
    baseline_request(cycle=plan, user=None, enqueue=lambda run_id, codes: None)
    page = login_page("sal")
    page.goto(f"{live_server.url}/cycles/2027-01/baseline/")
    expect(page.get_by_test_id("baseline-status")).to_have_text("Queued")
    expect(page.get_by_test_id("baseline-count")).to_have_text("0 of 3")
    expect(page.get_by_test_id("baseline-compute")).to_be_disabled()
    page.get_by_test_id("baseline-cancel").click()
    expect(page.get_by_test_id("baseline-status")).to_have_text("Cancelled")
    assert BaselineRun.objects.get(cycle=plan).status == "cancelled"


def test_executive_sees_the_page_without_the_button(plan, login_page, live_server):
    page = login_page("exec")
    page.goto(f"{live_server.url}/cycles/2027-01/baseline/")
    expect(page.get_by_test_id("baseline-status")).to_be_visible()
    expect(page.get_by_test_id("baseline-compute")).to_have_count(0)


def test_review_shows_forecast_value_added_table_and_chart(stream_a, login_page, live_server):
    """Cycle 2026-12 (frozen) forecast January: demand 120, baseline 105; actual 110, a
    year before 100. The review of 2027-02 shows what each step added."""
    UserFactory(username="exec", roles=["executive"])
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    dec = CycleFactory(month=dt.date(2026, 12, 1), horizon=3)
    for measure, month, value, source in (
        ("demand", JAN, "120", "demo"),
        ("statistical_baseline", JAN, "105", "baseline"),
        ("actual_sales", dt.date(2026, 1, 1), "100", "demo"),
    ):
        plan_values_upsert(
            cycle=dec,
            cells=[CellInput("A", "A-1", month, measure, Decimal(value))],
            user=None,
            source=source,
        )
    dec.status, dec.approved_at = "approved", dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    dec.save()
    feb = CycleFactory(month=dt.date(2027, 2, 1), horizon=3, status="in_progress")
    plan_values_upsert(
        cycle=feb,
        cells=[CellInput("A", "A-1", JAN, "actual_sales", Decimal("110"))],
        user=None,
    )
    page = login_page("exec")
    page.goto(f"{live_server.url}/cycles/2027-02/review/")
    fva = page.get_by_test_id("fva")
    company = fva.locator('tr[data-fva="company"]')
    expect(company).to_contain_text("2027-01")
    expect(company).to_contain_text("9.1%")  # naive
    expect(company).to_contain_text("4.5%")  # baseline
    expect(company).to_contain_text("+4.5 pp")  # FVA of the statistics
    expect(company).to_contain_text("−4.5 pp")  # FVA of the consensus
    expect(fva.locator(".js-plotly-plot, .plotly-figure, [id^=chart-fva]").first).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    fva.screenshot(path=str(SHOTS / "review_fva.png"))
