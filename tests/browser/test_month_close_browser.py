"""Issue 16 end to end in Chromium: a planner closes the month (operational actuals and
its families' sales and production typed at 0 ms between keys), the review's "last closed
month" block changes, the grid's actual row shows the same fact, the box score downloads
and "SOFP results" shows the month."""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from planning.calendar import month_add
from planning.models import Actual, ActualChange
from planning.selectors.actuals import current_month
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import CycleFactory, ProductFamilyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / os.environ.get("SOFP_SCREENSHOTS", "var/screenshots")


@pytest.fixture
def months(stream_a, planner_a, executive):
    """The plan approved the month before the last closed one (lag 1) and the cycle
    being planned now (real clock: the Month close page is about the last month)."""
    now = current_month()
    closed, before = month_add(now, -1), month_add(now, -2)
    ProductFamilyFactory(code="A-1", value_stream=stream_a, unit_price=Decimal("10"))
    frozen = CycleFactory(month=before, horizon=3, status="in_progress")
    plan_values_upsert(
        cycle=frozen,
        cells=[
            CellInput("A", "A-1", closed, "demand", Decimal("100")),
            CellInput("A", "A-1", closed, "production", Decimal("100")),
            CellInput("A", "", closed, "available_hours", Decimal("1000")),
        ],
        user=None,
        source="demo",
    )
    frozen.status, frozen.approved_at = "approved", timezone.now()
    frozen.save(update_fields=["status", "approved_at"])
    CycleFactory(month=now, status="in_progress")
    return closed


def _type(page, name: str, text: str) -> None:
    box = page.locator(f'input[name="{name}"]')
    box.click()
    box.press("Control+a")
    page.keyboard.type(text)  # 0 ms between keys


def test_month_close_changes_the_review_grid_download_and_results(
    months, planner_a, sales_user, executive, login_page, live_server
):
    closed = months
    DOCS.mkdir(parents=True, exist_ok=True)
    planner = login_page(planner_a.username)
    planner.goto(f"{live_server.url}/review/")
    block = planner.locator("#closed-month")
    on_time = block.locator("tr", has_text="On-time delivery").locator("td").first
    expect(on_time).to_have_text("—")  # nothing entered yet
    # The Month close page: the last closed month, this stream's facts.
    planner.goto(f"{live_server.url}/value-streams/A/month-close/")
    expect(planner.locator("h1")).to_contain_text(f"{closed:%B %Y}")
    # Planners enter their stream's operations and its families' sales and production.
    for name, text in (
        ("headcount:", "10"),
        ("actual_available_hours:", "1,000"),
        ("actual_productive_hours:", "700"),
        ("actual_non_productive_hours:", "100"),
        ("actual_sales:A-1", "90"),
        ("actual_production:A-1", "95"),
    ):
        _type(planner, name, text)
    planner.click("[data-testid=save-actuals]")
    planner.wait_for_load_state("networkidle")
    expect(planner.locator(".messages")).to_contain_text("6 added")
    # Sales enter the order actuals (they are sales' to change).
    seller = login_page(sales_user.username)
    seller.goto(f"{live_server.url}/value-streams/A/month-close/")
    _type(seller, "orders_shipped:", "40")
    _type(seller, "orders_on_time:", "38")
    seller.click("[data-testid=save-actuals]")
    seller.wait_for_load_state("networkidle")
    expect(seller.locator(".messages")).to_contain_text("2 added")
    planner.goto(f"{live_server.url}/value-streams/A/month-close/")
    assert Actual.objects.get(measure="orders_on_time", month=closed).value == 38
    expect(planner.locator("#actuals-history")).to_contain_text("CET")  # zone named
    planner.screenshot(path=str(DOCS / "month-close-entered.png"), full_page=False)
    # The review's block now reads them: on-time 38/40, FTT empty (not entered).
    planner.goto(f"{live_server.url}/review/")
    expect(on_time).to_have_text("95.0%")
    productive = block.locator("tr", has_text="Productive").locator("td").first
    expect(productive).to_have_text("70.0%")
    block.screenshot(path=str(DOCS / "review-closed-month-after-close.png"))
    # The grid's actual-sales row shows the same fact (entered on the Month close page).
    planner.goto(f"{live_server.url}/cycles/{current_month():%Y-%m}/grid/A/")
    planner.wait_for_selector("#grid[data-ready='1']")
    planner.check("#toggle-history")
    fact = planner.locator(
        '.tabulator-row[data-row-id="A-1|actual_sales"] '
        f'.tabulator-cell[tabulator-field="h{closed:%Y-%m}"]'
    )
    expect(fact).to_have_text("90")
    # Typed in the grid, it is the same fact, one more version, history says "grid".
    fact.click()
    planner.keyboard.type("91")
    planner.keyboard.press("Enter")
    planner.wait_for_function("window.sofpGrid && window.sofpGrid.idle()")
    sales = Actual.objects.get(measure="actual_sales", month=closed)
    assert (sales.value, sales.version) == (Decimal("91"), 2)
    assert ActualChange.objects.filter(actual=sales, source="grid").exists()
    # The executive downloads the box score and opens SOFP results.
    boss = login_page(executive.username)
    boss.goto(f"{live_server.url}/review/")
    with boss.expect_download() as info:
        boss.click("[data-testid=box-score-download]")
    download = info.value
    assert download.suggested_filename == f"box-score-{closed:%Y-%m}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    got = {(r["value_stream"], r["measure"]): r["value"] for r in rows}
    assert got[("A", "on_time_delivery")] == "0.950000"
    assert got[("A", "demand_wape")] == f"{9 / 91:.6f}"  # |91 − 100| ÷ 91
    assert float(got[("A", "actual_revenue")]) == pytest.approx(910)
    boss.click("[data-testid=sofp-results-link]")
    boss.wait_for_load_state("networkidle")
    row = boss.locator("tr", has_text=f"{closed:%Y-%m}")
    expect(row.locator("td").nth(1)).to_have_text("95.0%")
    boss.screenshot(path=str(DOCS / "sofp-results-after-close.png"), full_page=False)


def test_month_close_refuses_bad_input_and_changes_nothing(
    months, planner_a, login_page, live_server
):
    page = login_page(planner_a.username)
    page.goto(f"{live_server.url}/value-streams/A/month-close/")
    _type(page, "actual_productive_hours:", "forty")
    _type(page, "headcount:", "-3")
    page.click("[data-testid=save-actuals]")
    page.wait_for_load_state("networkidle")
    text = page.locator(".messages").inner_text()
    assert "Actual productive hours: “forty” is not a number" in text, text
    assert "Headcount (people): headcount must not be negative" in text, text
    assert not Actual.objects.exists()


def test_closed_month_follows_the_family_filter_and_bad_months_are_named(
    months, executive, login_page, live_server
):
    from planning.services.actuals import ActualInput, actuals_upsert
    from valuestreams.models import ValueStream

    closed = months
    ProductFamilyFactory(
        code="A-2", value_stream=ValueStream.objects.get(code="A"), unit_price=Decimal("20")
    )
    actuals_upsert(
        cells=[
            ActualInput("A", "", closed, "orders_shipped", Decimal(40)),
            ActualInput("A", "", closed, "orders_on_time", Decimal(38)),
            ActualInput("A", "A-1", closed, "actual_sales", Decimal(90)),
            ActualInput("A", "A-2", closed, "actual_sales", Decimal(10)),
        ],
        user=None,
    )
    page = login_page(executive.username)
    page.goto(f"{live_server.url}/value-streams/A/?family=A-1")
    block = page.locator("#closed-month")
    expect(block.get_by_test_id("closed-family-note")).to_contain_text("A-1")
    on_time = block.locator("tr", has_text="On-time delivery · A")
    expect(on_time.locator("td").first).to_have_text("95.0%")  # the stream's fact
    revenue = block.locator(".plan-against-actual tr", has_text="Revenue (EUR)").first
    expect(revenue.locator("td").nth(2)).to_have_text("900")  # 90 × 10, not 1,100
    block.screenshot(path=str(DOCS / "dashboard-closed-month-family.png"))
    page.goto(f"{live_server.url}/value-streams/A/month-close/?month=2026-13")
    expect(page.locator(".messages")).to_contain_text("“2026-13” is not a month")
    expect(page.locator("h1")).to_contain_text(f"{closed:%B %Y}")
