"""The dashboards in a real Chromium: charts draw, nothing leaves the machine, no errors."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.dashboard_data import build_company
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def company(db):
    """Two streams with a plan for this month (so /review/ finds it as the current cycle)."""
    return build_company(streams=2, families=4, month=timezone.localdate().replace(day=1))


def _watch(page, base_url: str):
    """Collect requests that leave the live server, console errors and page errors."""
    seen = {"foreign": [], "errors": []}
    page.on(
        "request",
        lambda r: None if r.url.startswith(base_url) else seen["foreign"].append(r.url),
    )
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    return seen


def _wait_for_plots(page, n: int) -> int:
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot').length >= {n}", timeout=20_000
    )
    return page.locator(".js-plotly-plot").count()


def test_executive_review_draws_the_charts_offline_without_errors(
    company, executive, login_page, live_server
):
    page = login_page(executive.username)
    seen = _watch(page, live_server.url)
    page.goto(f"{live_server.url}/review/")
    page.wait_for_load_state("networkidle")
    assert _wait_for_plots(page, 4) >= 4
    # Plotly drew real SVG, with the titles built in Python.
    assert page.locator(".js-plotly-plot .main-svg").count() >= 4
    assert page.get_by_text("Capacity by value stream").count() >= 1
    headers = page.locator("table.box-score thead th").all_inner_texts()
    assert [h.strip().upper() for h in headers][:2] == ["MEASURE", "COMPANY"]
    assert page.locator('form[action$="/approve/"]').count() == 1
    # The month picker applies on change (autosubmit, no inline JS).
    with page.expect_navigation():
        page.select_option("select[name=month]", index=2)
    assert "month=" in page.url
    assert _wait_for_plots(page, 4) >= 4
    assert seen["foreign"] == []
    assert seen["errors"] == []


def test_stream_dashboard_draws_every_chart_offline_without_errors(
    company, executive, login_page, live_server
):
    page = login_page(executive.username)
    seen = _watch(page, live_server.url)
    page.goto(f"{live_server.url}/value-streams/S00/?family=S00-F000")
    page.wait_for_load_state("networkidle")
    assert _wait_for_plots(page, 7) == 7
    # The family with a planned shortage shows the shortage marker in its legend.
    assert page.locator(".js-plotly-plot .legendtext", has_text="Shortage").count() == 1
    assert page.locator(".js-plotly-plot .legendtext", has_text="Last approved plan").count() == 1
    assert seen["foreign"] == []
    assert seen["errors"] == []


def test_planner_sees_only_their_value_stream(company, login_page, live_server):
    from valuestreams.models import ValueStream

    planner = UserFactory(username="pat")
    MembershipFactory(user=planner, value_stream=ValueStream.objects.get(code="S01"))
    page = login_page("pat")
    seen = _watch(page, live_server.url)
    page.goto(f"{live_server.url}/review/")
    page.wait_for_load_state("networkidle")
    _wait_for_plots(page, 4)
    headers = page.locator("table.box-score thead th").all_inner_texts()
    assert [h.strip().upper() for h in headers] == ["MEASURE", "S01"]
    assert page.locator('a[href*="/grid/S00/"]').count() == 0
    assert page.locator('form[action$="/approve/"]').count() == 0
    page.goto(f"{live_server.url}/value-streams/")
    assert page.locator('a[href="/value-streams/S01/"]').count() == 1
    assert page.locator('a[href="/value-streams/S00/"]').count() == 0
    response = page.goto(f"{live_server.url}/value-streams/S00/")
    assert response.status == 403
    assert seen["foreign"] == []


def test_stream_dashboard_draws_this_months_actuals_from_the_month_close_facts(
    company, executive, login_page, live_server
):
    """Issue 16: an actual entered as a fact (Month close, files, actuals API) — not a plan
    cell — shows on the demand chart's actual line inside the horizon."""
    from decimal import Decimal

    from planning.services.actuals import ActualInput, actuals_upsert

    month = timezone.localdate().replace(day=1)
    actuals_upsert(
        cells=[
            ActualInput("S00", "S00-F000", month, "actual_sales", Decimal("41")),
            ActualInput("S00", "S00-F001", month, "actual_sales", Decimal("2")),
        ],
        user=None,
    )
    page = login_page(executive.username)
    page.goto(f"{live_server.url}/value-streams/S00/")
    page.wait_for_load_state("networkidle")
    _wait_for_plots(page, 7)
    shown = page.evaluate(
        """(month) => {
            const t = document.getElementById('chart-demand').data
                .find(d => d.name === 'Actual sales');
            const i = t.x.findIndex(x => String(x).startsWith(month));
            return i < 0 ? null : t.y[i];
        }""",
        f"{month:%Y-%m}",
    )
    assert shown == 43
    page.screenshot(path="/tmp/gaps_dashboard_actuals.png", full_page=False)
