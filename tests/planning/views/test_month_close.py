"""The Month close page: facts of the last month per value stream, through actuals_upsert."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.models import Actual
from planning.selectors.actuals import last_closed_month

pytestmark = pytest.mark.django_db
URL = "/value-streams/A/month-close/"


def test_planner_enters_the_last_month_and_sees_it_again(client, planner_a, family_a):
    client.force_login(planner_a)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    month = last_closed_month()
    assert 'name="headcount:"' in html and 'name="actual_production:A-1"' in html
    assert 'name="actual_conversion_cost:"' not in html  # finance enters it
    form = {
        "headcount:": "12",
        "base-headcount:": "",
        "version-headcount:": "0",
        "actual_production:A-1": "95.5",
        "base-actual_production:A-1": "",
        "version-actual_production:A-1": "0",
        "dock_to_dock_days:": "",
        "base-dock_to_dock_days:": "",
    }
    r = client.post(URL, form)
    assert r.status_code == 302
    assert Actual.objects.get(measure="actual_production", month=month).value == Decimal("95.5")
    assert Actual.objects.get(measure="headcount").updated_by == planner_a
    html = client.get(URL).content.decode()
    assert 'value="95.5"' in html and "planner_a" in html
    # a stale form is refused and changes nothing
    r = client.post(URL, {**form, "headcount:": "13"})
    assert r.status_code == 409
    assert Actual.objects.get(measure="headcount").value == 12


def test_bad_number_is_named_and_nothing_saved(client, planner_a, family_a):
    client.force_login(planner_a)
    r = client.post(URL, {"headcount:": "lots", "base-headcount:": ""})
    assert r.status_code == 400 and not Actual.objects.exists()


def test_future_month_is_not_offered_and_others_read_only(client, executive, stream_a):
    client.force_login(executive)
    r = client.get(URL + "?month=2999-01")
    assert r.status_code == 200 and r.context["month"] <= dt.date.today().replace(day=1)
    assert "<input class" not in r.content.decode()
    assert client.post(URL, {"headcount:": "1", "base-headcount:": ""}).status_code == 403
    assert client.get("/value-streams/NOPE/month-close/").status_code == 404


def test_review_and_dashboard_show_the_last_closed_month(client, executive, planner_a, family_a):
    from planning.services.actuals import ActualInput, actuals_upsert

    month = last_closed_month()
    actuals_upsert(
        cells=[
            ActualInput("A", "", month, "orders_shipped", Decimal(8)),
            ActualInput("A", "", month, "orders_on_time", Decimal(6)),
            ActualInput("A", "A-1", month, "actual_sales", Decimal(10)),
        ],
        user=None,
    )
    client.force_login(executive)
    html = client.get("/value-streams/A/").content.decode()
    assert 'id="closed-month"' in html and "75.0%" in html  # 6 ÷ 8
    assert "box-score/download/?month=" in html
    client.force_login(planner_a)
    r = client.get("/review/")
    closed = r.context["closed"]
    assert [b["code"] for b in closed["blocks"]] == ["A"]  # no company row for a planner
    assert closed["blocks"][0]["m"]["on_time_delivery"] == pytest.approx(0.75)


def test_without_facts_the_block_says_where_to_enter_them(client, executive, stream_a):
    client.force_login(executive)
    html = client.get("/value-streams/A/").content.decode()
    assert "No actuals have been entered" in html and "/value-streams/A/month-close/" in html


def test_cycle_calendar_shows_the_month_close_deadline(client, executive, company):
    from planning.services.cycles import cycle_start

    cycle, _ = cycle_start(month=dt.date(2027, 3, 1), user=executive)
    client.force_login(executive)
    html = client.get(f"/cycles/{cycle.label}/").content.decode()
    assert "actuals of February 2027 are due" in html
    assert "Mon 1 Mar 2027, 12:00 CET</time>" in html  # the company's zone, named (|when)


def test_closed_block_names_units_currency_and_fva_in_points(client, executive, family_a):
    """Money in the "last closed month" block carries the company's currency, hours their
    unit, and FVA (a difference of two WAPEs) reads in percentage points, as the box score."""
    from django.template.loader import render_to_string

    from planning.models import Company
    from planning.selectors.cycles import company_cache_clear
    from planning.services.actuals import ActualInput, actuals_upsert

    Company.objects.update(currency="CHF")
    company_cache_clear()
    month = last_closed_month()
    actuals_upsert(
        cells=[
            ActualInput("A", "", month, "headcount", Decimal(4)),
            ActualInput("A", "A-1", month, "actual_sales", Decimal(10)),
        ],
        user=None,
    )
    client.force_login(executive)
    r = client.get("/value-streams/A/")
    html = r.content.decode()
    labels = [row["label"] for row in r.context["closed"]["blocks"][0]["plan_against_actual"]]
    assert labels[:4] == [
        "Revenue (CHF)",
        "Material cost (CHF)",
        "Conversion cost (CHF)",
        "Profit (CHF)",
    ]
    assert labels[4:] == ["Production (units)", "Hours (h)"]
    assert "Revenue per person (CHF)" in html and "Average cost per unit (CHF)" in html
    closed = {**r.context["closed"]}
    closed["blocks"] = [
        {**closed["blocks"][0], "m": {"fva_statistics": 0.05, "fva_consensus": -0.02}}
    ]
    html = render_to_string("planning/includes/closed_month.html", {"closed": closed})
    assert 'data-testid="closed-fva-statistics">+5.0 pp<' in html
    assert 'data-testid="closed-fva-consensus">−2.0 pp<' in html


def test_facts_name_their_units_and_read_only_money_has_separators(client, planner_a, family_a):
    from planning.selectors.cycles import company_currency
    from planning.services.actuals import ActualInput, actuals_upsert

    month = last_closed_month()
    actuals_upsert(
        cells=[ActualInput("A", "", month, "actual_conversion_cost", Decimal("256596.55"))],
        user=None,
    )
    client.force_login(planner_a)
    r = client.get(URL)
    labels = {c["measure"]: c["label"] for c in r.context["stream_cells"]}
    currency = company_currency()
    assert labels["actual_conversion_cost"] == f"Actual conversion cost ({currency})"
    assert labels["actual_available_hours"] == "Actual available hours (h)"
    assert labels["headcount"] == "Headcount (people)"
    html = r.content.decode()
    # the planner reads finance's figure (no input), grouped like every other number
    assert "256,596.55" in html and 'name="actual_conversion_cost:"' not in html


def test_sofp_results_name_the_currency_of_cash_flow(client, executive, company, monkeypatch):
    from planning.models import Company
    from planning.selectors import actuals as actuals_selectors
    from planning.selectors.cycles import company_cache_clear

    row = {"month": "2026-10", "on_time_delivery": 0.9, "inventory_days": 20.0}
    row |= {"cash_flow": 874315.0, "on_time_launch": None}
    change = {"measure": "cash_flow", "label": "Cash flow", "start": 1.0, "now": 2.0}
    change["change"] = 1.0
    monkeypatch.setattr(actuals_selectors, "sofp_results_page", lambda: ([row], [change]))
    Company.objects.update(currency="CHF")
    company_cache_clear()
    client.force_login(executive)
    r = client.get("/results/")
    assert r.status_code == 200 and r.context["currency"] == "CHF"
    html = r.content.decode()
    assert "Cash flow (CHF)" in html and "874,315" in html and "2 CHF" in html


def test_bad_month_query_is_named_not_silently_replaced(client, executive, stream_a):
    client.force_login(executive)
    r = client.get(URL + "?month=2026-13")
    assert r.status_code == 200 and r.context["month"] == last_closed_month()
    html = r.content.decode()
    assert "“2026-13” is not a month" in html
    assert f"last closed month, {last_closed_month():%Y-%m}" in html
    assert "has not started yet" in client.get(URL + "?month=2999-01").content.decode()
    assert "is not a month" not in client.get(URL).content.decode()


def test_closed_block_follows_the_family_filter_where_measures_are_per_family(executive, family_a):
    """Revenue, material and production are the family's; on-time delivery (a stream
    fact) stays the stream's, and is marked so."""
    from planning.selectors.actuals import closed_month_block
    from planning.services.actuals import ActualInput, actuals_upsert
    from tests.factories import ProductFamilyFactory

    other = ProductFamilyFactory(code="A-2", value_stream=family_a.value_stream)
    month = last_closed_month()
    actuals_upsert(
        cells=[
            ActualInput("A", "", month, "orders_shipped", Decimal(8)),
            ActualInput("A", "", month, "orders_on_time", Decimal(6)),
            ActualInput("A", "A-1", month, "actual_sales", Decimal(10)),
            ActualInput("A", "A-1", month, "actual_production", Decimal(11)),
            ActualInput("A", "A-2", month, "actual_sales", Decimal(30)),
            ActualInput("A", "A-2", month, "actual_production", Decimal(29)),
        ],
        user=None,
    )
    stream = closed_month_block(month=month, value_streams=[family_a.value_stream])
    own = closed_month_block(month=month, value_streams=None, family=family_a)
    whole = next(b for b in stream["blocks"] if b["code"] == "A")["m"]
    assert [b["code"] for b in own["blocks"]] == ["A"]
    mine = own["blocks"][0]["m"]
    p1, p2 = float(family_a.unit_price), float(other.unit_price)
    assert whole["actual_revenue"] == pytest.approx(10 * p1 + 30 * p2)
    assert mine["actual_revenue"] == pytest.approx(10 * p1)
    assert mine["actual_production"] == pytest.approx(11)
    assert mine["on_time_delivery"] == whole["on_time_delivery"] == pytest.approx(0.75)
    rows = {r["label"]: r for r in own["blocks"][0]["plan_against_actual"]}
    assert not rows["Production (units)"]["per_stream"]
    assert rows["Hours (h)"]["per_stream"] and own["stream_mark"] == " · A"
