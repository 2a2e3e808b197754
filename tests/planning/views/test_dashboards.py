"""Value stream dashboards and the step-5 review: permissions, content, empty states, queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from planning.models import PlanningCycle, StepStatus
from planning.selectors.plans import projections_forget
from tests.dashboard_data import build_company
from tests.factories import DecisionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

MONTH = dt.date(2027, 1, 1)


@pytest.fixture
def company(db):
    """Streams S00, S01 with three families each; cycle 2027-01 and two approved before."""
    return build_company(streams=2, families=3, month=MONTH)


@pytest.fixture
def s00_planner(company):
    from valuestreams.models import ValueStream

    user = UserFactory(username="s00_planner")
    MembershipFactory(user=user, value_stream=ValueStream.objects.get(code="S00"))
    return user


@pytest.fixture(autouse=True)
def _today_is_in_the_cycle(monkeypatch):
    """cycle_current() picks the cycle of 'today': pin today to the test cycle's month."""
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: dt.date(2027, 1, 15))


# --------------------------------------------------------------------------- permissions


def test_anonymous_user_is_sent_to_login(client, company):
    for url in ("/review/", "/value-streams/", "/value-streams/S00/", "/cycles/2027-01/review/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_planner_gets_403_on_another_streams_dashboard(client, s00_planner):
    client.force_login(s00_planner)
    assert client.get("/value-streams/S00/").status_code == 200
    assert client.get("/value-streams/S01/").status_code == 403


def test_unknown_stream_is_404(client, s00_planner):
    client.force_login(s00_planner)
    assert client.get("/value-streams/NOPE/").status_code == 404


def test_stream_list_shows_only_the_streams_the_user_may_see(client, s00_planner, executive):
    client.force_login(s00_planner)
    html = client.get("/value-streams/").content.decode()
    assert "/value-streams/S00/" in html and "/value-streams/S01/" not in html
    client.force_login(executive)
    html = client.get("/value-streams/").content.decode()
    assert "/value-streams/S00/" in html and "/value-streams/S01/" in html
    assert "Exceptions" in html and "Revenue" in html


def test_planner_review_shows_only_their_stream_and_no_company_or_approval(client, s00_planner):
    client.force_login(s00_planner)
    response = client.get("/review/")
    assert response.status_code == 200
    page = response.context["page"]
    assert [code for code, _ in page.box_columns] == ["S00"]
    assert not page.company_view
    assert set(page.analysis.projection.stream["value_stream"]) == {"S00"}
    assert all(e["value_stream"] == "S00" for e in page.exceptions)
    html = response.content.decode()
    assert "/grid/S01/" not in html
    assert 'action="/cycles/2027-01/approve/"' not in html
    assert "chart-company" not in html


def test_user_without_streams_gets_a_helpful_empty_review(client, company):
    client.force_login(UserFactory(username="nobody"))
    response = client.get("/review/")
    assert response.status_code == 200
    assert "You do not see any value stream" in response.content.decode()


# --------------------------------------------------------------------------- review content


def test_executive_review_has_box_score_exceptions_changes_decisions_and_approve_form(
    client, company, executive
):
    DecisionFactory(cycle=company, text="Hire two welders", owner=executive)
    client.force_login(executive)
    response = client.get("/review/")
    assert response.status_code == 200
    page = response.context["page"]
    assert page.cycle == company
    assert [h for _, h in page.box_columns] == ["Company", "S00", "S01"]
    assert page.has_previous and page.has_actuals
    html = response.content.decode()
    for chart in ("chart-streams", "chart-capacity", "chart-changes", "chart-profit"):
        assert f'data-figure="{chart}-data"' in html
    assert 'data-figure="chart-company-data"' in html
    # Exceptions link to the grid cell behind them (issue 6's contract).
    assert (
        "/cycles/2027-01/grid/S00/?family=S00-F000&amp;month=2027-03&amp;measure=production" in html
    )
    assert "Hire two welders" in html
    assert 'action="/cycles/2027-01/decisions/"' in html
    assert 'name="owner"' in html and 'name="due_date"' in html
    assert 'action="/cycles/2027-01/approve/"' in html
    assert 'name="next" value="/review/"' in html
    assert [r["value_stream"] for r in page.change_rows] == ["S00", "S01"]
    assert 'src="/static/vendor/plotly/plotly.min.js"' in html
    assert "<script>" not in html  # no inline code (CSP)


def test_open_steps_ask_for_an_override_reason(client, company, executive):
    company.steps.filter(number__lte=2).update(status=StepStatus.IN_PROGRESS)
    client.force_login(executive)
    response = client.get("/review/")
    assert response.context["page"].approval.open_steps == [1, 2, 3, 4]
    company.steps.filter(number__lte=4).update(status=StepStatus.DONE)
    response = client.get("/review/")
    assert response.context["page"].approval.open_steps == []
    html = response.content.decode()
    assert 'type="hidden" name="override_reason"' in html


def test_review_shows_override_field_when_steps_are_not_done(client, company, executive):
    client.force_login(executive)
    html = client.get("/review/").content.decode()
    assert '<textarea id="override-reason" name="override_reason"' in html


def test_finance_reads_everything_but_cannot_approve(client, company, finance_user):
    client.force_login(finance_user)
    response = client.get("/review/")
    page = response.context["page"]
    assert page.company_view and not page.approval.can_approve
    assert 'action="/cycles/2027-01/approve/"' not in response.content.decode()


def test_frozen_cycle_shows_who_approved_and_hides_the_forms(client, company, executive):
    approver = UserFactory(username="boss", first_name="Bo", last_name="Boss")
    previous = PlanningCycle.objects.get(month=dt.date(2026, 12, 1))
    previous.approved_by = approver
    previous.save()
    client.force_login(executive)
    response = client.get("/cycles/2026-12/review/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved by <strong>Bo Boss</strong>" in html
    assert 'action="/cycles/2026-12/approve/"' not in html
    assert 'action="/cycles/2026-12/decisions/"' not in html


def test_month_picker_changes_the_box_score_month(client, company, executive):
    client.force_login(executive)
    page = client.get("/review/?month=2027-04").context["page"]
    assert page.month == "2027-04" and page.month_label == "April 2027"
    page = client.get("/review/?month=1999-01").context["page"]
    assert page.month == "2027-01"  # outside the horizon: back to the first month


def test_review_without_a_previous_approved_plan_says_so(client, executive):
    build_company(streams=1, families=2, month=MONTH, previous=0)
    client.force_login(executive)
    response = client.get("/review/")
    page = response.context["page"]
    assert not page.has_previous and not page.has_actuals
    html = response.content.decode()
    assert "No earlier plan has been approved yet" in html
    assert "No actual sales have been entered yet" in html


def test_review_without_any_cycle_is_a_helpful_empty_page(client, executive):
    client.force_login(executive)
    response = client.get("/review/")
    assert response.status_code == 200
    assert "No planning cycle has been started yet" in response.content.decode()


def test_review_of_an_unknown_cycle_is_404(client, company, executive):
    client.force_login(executive)
    assert client.get("/cycles/2031-05/review/").status_code == 404


def test_nav_has_review_and_value_streams_links(client, company, executive):
    client.force_login(executive)
    html = client.get("/").content.decode()
    assert 'href="/review/"' in html and 'href="/value-streams/"' in html


# --------------------------------------------------------------------------- value stream page


def test_stream_dashboard_has_every_chart_and_the_family_filter(client, s00_planner):
    client.force_login(s00_planner)
    response = client.get("/value-streams/S00/")
    dash = response.context["dash"]
    assert set(dash.figures) == {
        "demand",
        "accuracy",
        "production",
        "inventory",
        "capacity",
        "capacity_split",
        "financial",
    }
    assert dash.family is None and dash.has_previous
    assert dash.exception_total > 0  # S00-F000 runs short
    html = response.content.decode()
    assert '<option value="S00-F001"' in html
    filtered = client.get("/value-streams/S00/?family=S00-F001").context["dash"]
    assert filtered.family.code == "S00-F001"
    assert "S00-F001" in filtered.figures["demand"].figure.layout.title.text
    # A family of another stream is ignored, not leaked.
    other = client.get("/value-streams/S00/?family=S01-F001").context["dash"]
    assert other.family is None


def test_stream_dashboard_month_filter_narrows_kpis_charts_and_exceptions(client, s00_planner):
    client.force_login(s00_planner)
    whole = client.get("/value-streams/S00/").context["dash"]
    assert not whole.month.month_filter and len(whole.month.months) > 2
    third = whole.month.months[2]
    response = client.get(f"/value-streams/S00/?month={third}")
    dash = response.context["dash"]
    assert dash.month.month_filter == third
    html = response.content.decode()
    assert f'<option value="{third}" selected>' in html and 'data-testid="filter-note"' in html
    # Every chart shows the picked month only.
    for key in ("production", "capacity", "financial"):
        xs = {str(x)[:7] for trace in dash.figures[key].figure.data for x in (trace.x or ())}
        assert xs <= {third}, (key, xs)
    assert dash.exception_total <= whole.exception_total
    assert all(row["month"].startswith(third) for row in dash.exceptions if "month" in row)


def test_stream_dashboard_month_outside_the_horizon_says_so(client, s00_planner):
    client.force_login(s00_planner)
    response = client.get("/value-streams/S00/?month=2031-05")
    assert response.context["dash"].month.month_problem
    assert "“2031-05” is not a month of cycle 2027-01" in response.content.decode()


def test_stream_dashboard_family_filter_says_the_closed_month_is_the_streams(client, s00_planner):
    client.force_login(s00_planner)
    html = client.get("/value-streams/S00/?family=S00-F001").content.decode()
    assert 'data-testid="closed-family-note"' in html


def test_stream_dashboard_cycle_picker(client, s00_planner):
    client.force_login(s00_planner)
    response = client.get("/value-streams/S00/?cycle=2026-12")
    assert response.context["dash"].cycle.label == "2026-12"
    response = client.get("/value-streams/S00/?cycle=garbage")
    assert response.context["dash"].cycle.label == "2027-01"


def test_stream_dashboard_without_cycle_is_an_empty_state(client, executive):
    from tests.factories import ValueStreamFactory

    ValueStreamFactory(code="LONE")
    client.force_login(executive)
    response = client.get("/value-streams/LONE/")
    assert response.status_code == 200
    assert "No planning cycle has been started yet" in response.content.decode()


# --------------------------------------------------------------------------- queries


def _count(client, url: str, *, cold: bool = True) -> int:
    """Queries of one request; ``cold``: without reused projections (planning.selectors.plans)."""
    if cold:
        projections_forget()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_review_query_count_does_not_grow_with_value_streams(client, executive):
    build_company(streams=2, families=3, month=MONTH, prefix="S")
    DecisionFactory(cycle=PlanningCycle.objects.get(month=MONTH), owner=executive)
    client.force_login(executive)
    _count(client, "/review/")  # warm caches (session, content types)
    two = _count(client, "/review/")
    build_company(streams=4, families=5, month=MONTH, prefix="T")
    DecisionFactory(cycle=PlanningCycle.objects.get(month=MONTH), owner=executive)
    six = _count(client, "/review/")
    assert client.get("/review/").context["page"].box_columns[-1][0] == "T03"
    assert 0 < two == six, (two, six)
    # Reusing the projections (same plan, nothing written since) reads fewer rows, and
    # still a constant number of queries.
    six_warm = _count(client, "/review/", cold=False)
    assert 0 < six_warm == _count(client, "/review/", cold=False) <= six, (six_warm, six)


def test_stream_dashboard_query_count_does_not_grow_with_families(client, executive):
    build_company(streams=1, families=2, month=MONTH, prefix="S")
    client.force_login(executive)
    _count(client, "/value-streams/S00/")
    small = _count(client, "/value-streams/S00/")
    build_company(streams=1, families=12, month=MONTH, prefix="T")
    big = _count(client, "/value-streams/T00/")
    assert 0 < small == big, (small, big)


def test_only_executives_get_the_decision_form(client, s00_planner, executive, company):
    client.force_login(s00_planner)
    response = client.get("/review/")
    assert not response.context["page"].can_record_decisions
    assert 'action="/cycles/2027-01/decisions/"' not in response.content.decode()
    client.force_login(executive)
    assert client.get("/review/").context["page"].can_record_decisions


def test_stream_without_families_or_plan_renders_empty_charts(client, company, executive):
    from tests.factories import ValueStreamFactory

    ValueStreamFactory(code="EMPTY")
    client.force_login(executive)
    response = client.get("/value-streams/EMPTY/")
    assert response.status_code == 200
    assert response.context["dash"].exception_total == 0
    assert client.get("/value-streams/EMPTY/?family=S00-F000").status_code == 200
    assert client.get("/review/").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?month=2027-13",
        "?month=%00",
        "?month=" + "9" * 300,
        "?cycle=0000-00",
        "?cycle=2027-01&family=%3Cscript%3E",
        "?family=&cycle=",
        "?month[]=1",
    ],
)
def test_odd_query_strings_never_break_the_pages(client, company, executive, query):
    client.force_login(executive)
    for path in ("/review/", "/value-streams/S00/", "/cycles/2027-01/review/"):
        response = client.get(path + query)
        assert response.status_code == 200, (path, query)
        assert b"<script>" not in response.content


def test_money_rows_and_headlines_name_the_company_currency(client, company, executive):
    from planning.models import Company
    from planning.selectors.cycles import company_cache_clear

    Company.objects.update(currency="CHF")
    company_cache_clear()
    client.force_login(executive)
    review = client.get("/review/").content.decode()
    assert 'class="metric">Revenue (CHF)</th>' in review
    assert 'class="metric">Return on sales</th>' in review
    dash = client.get("/value-streams/S00/").content.decode()
    assert '<div class="label">Revenue (CHF)</div>' in dash
