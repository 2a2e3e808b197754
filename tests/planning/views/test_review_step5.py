"""Step 5 as the meeting runs it: confirmed approval with a note, every exception
reachable (paged, grouped, ranked) and acknowledgeable (issue 15)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from planning.models import (
    DecisionStatus,
    ExceptionAcknowledgement,
    Measure,
    PlanningCycle,
    PlanValue,
)
from planning.selectors.approval import approval_open_items
from planning.selectors.dashboards import EXCEPTIONS_PER_PAGE
from planning.selectors.plans import cycle_analysis
from planning.services.approval import cycle_approve
from planning.services.exceptions import exception_acknowledge
from sofp.errors import ApplicationError
from tests.dashboard_data import build_company
from tests.factories import DecisionFactory, UserFactory

pytestmark = pytest.mark.django_db

MONTH = dt.date(2027, 1, 1)


@pytest.fixture
def company(db):
    return build_company(streams=3, families=12, month=MONTH)


@pytest.fixture
def executive(db):
    return UserFactory(username="exec", roles=["executive"])


@pytest.fixture(autouse=True)
def _today_is_in_the_cycle(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: dt.date(2027, 1, 15))


def _rows(html: str) -> list[str]:
    return re.findall(r'data-key="([^"]+)"', html)


# --------------------------------------------------------------------------- approval


def test_approve_without_confirmation_lists_what_is_open_and_changes_nothing(
    client, company, executive
):
    DecisionFactory(cycle=company, text="Hire two welders", status=DecisionStatus.OPEN)
    client.force_login(executive)
    response = client.post(f"/cycles/{company.label}/approve/", {"override_reason": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approve plan 2027-01?" in html
    assert "Hire two welders" in html and 'name="confirm" value="yes"' in html
    items = approval_open_items(cycle=company)
    assert f'Shortages <span class="count">{items.shortages.count}</span>' in html
    assert not PlanningCycle.objects.get(pk=company.pk).is_frozen


def test_confirmed_approval_keeps_the_note_shown_on_cycle_and_review(client, company, executive):
    client.force_login(executive)
    response = client.post(
        f"/cycles/{company.label}/approve/",
        {"confirm": "yes", "override_reason": "steps ran late", "note": "Overload in S01 accepted"},
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.is_frozen and company.approval_note == "Overload in S01 accepted"
    assert "Approval note: Overload in S01 accepted" in client.get("/review/").content.decode()
    cycle_page = client.get(f"/cycles/{company.label}/").content.decode()
    assert "Overload in S01 accepted" in cycle_page


def test_open_items_count_overloads_shortages_unexplained_changes_and_decisions(company):
    ex = cycle_analysis(cycle=company).exceptions
    DecisionFactory(cycle=company, status=DecisionStatus.OPEN)
    DecisionFactory(cycle=company, status=DecisionStatus.DONE)
    items = approval_open_items(cycle=company)
    assert items.overloads.count == int((ex["kind"] == "overloaded").sum())
    assert items.shortages.count == int((ex["kind"] == "shortage").sum())
    changes = ex[ex["kind"] == "demand_change"]
    assert len(changes) > 0, "the data has demand changes against the last approved plan"
    assert items.unexplained_demand_changes.count == len(changes)
    assert len(items.open_decisions) == 1
    # A comment on the demand cell explains the change.
    first = changes.iloc[0]
    cell = PlanValue.objects.get(
        cycle=company,
        measure=Measure.DEMAND,
        value_stream__code=first["value_stream"],
        product_family__code=first["product_family"],
        month=first["month"].to_timestamp().date(),
    )
    cell.comment = "Customer X moved its order forward"
    cell.save(update_fields=["comment"])
    again = approval_open_items(cycle=company)
    assert again.unexplained_demand_changes.count == len(changes) - 1


def test_service_keeps_the_note(company, executive):
    cycle_approve(cycle=company, user=executive, override_reason="late", note="  board ok  ")
    company.refresh_from_db()
    assert company.approval_note == "board ok"


# --------------------------------------------------------------------------- exceptions


def test_every_exception_is_on_some_page_in_distance_order(client, company, executive):
    ex = cycle_analysis(cycle=company).exceptions
    assert len(ex) > EXCEPTIONS_PER_PAGE, "enough exceptions for two pages"
    client.force_login(executive)
    seen: list[str] = []
    pages = -(-len(ex) // EXCEPTIONS_PER_PAGE)
    for n in range(1, pages + 1):
        html = client.get(f"/review/?exceptions_page={n}").content.decode()
        seen += _rows(html)
    assert len(seen) == len(ex) == len(set(seen))
    assert f"of {len(ex)}" in client.get("/review/").content.decode()
    distances = ex["distance"].fillna(-1).to_numpy()
    assert (distances[:-1] >= distances[1:]).all()
    # A page past the end shows the last page, not an error.
    assert client.get("/review/?exceptions_page=999").status_code == 200
    assert client.get("/review/?exceptions_page=abc").status_code == 200


def test_exceptions_filter_by_kind_and_stream(client, company, executive):
    ex = cycle_analysis(cycle=company).exceptions
    client.force_login(executive)
    html = client.get("/review/?exception_kind=demand_change&exception_stream=S01").content.decode()
    keys = _rows(html)
    expected = ex[(ex["kind"] == "demand_change") & (ex["value_stream"] == "S01")]
    assert len(keys) == min(len(expected), EXCEPTIONS_PER_PAGE) > 0
    assert all(k.startswith("demand_change:S01:") for k in keys)
    assert "By kind and value stream" in html


def test_each_exception_links_to_its_cell(client, company, executive):
    client.force_login(executive)
    html = client.get("/review/").content.decode()
    key = _rows(html)[0]
    _kind, vs, fam, month = key.split(":")
    row = html[html.index(f'data-key="{key}"') :]
    row = row[: row.index("</tr>")]
    link = re.search(r'href="(/cycles/[^"]+)"', row).group(1)
    assert f"/cycles/2027-01/grid/{vs}/" in link and f"month={month}" in link
    if fam:
        assert f"family={fam}" in link


def test_acknowledge_keeps_a_note_per_cycle_shown_in_the_review(client, company, executive):
    client.force_login(executive)
    key = _rows(client.get("/review/").content.decode())[0]
    response = client.post(
        f"/cycles/{company.label}/exceptions/acknowledge/",
        {"key": key, "note": "Known: promotion in March", "next": "/review/"},
    )
    assert response.status_code == 302
    ack = ExceptionAcknowledgement.objects.get(cycle=company, key=key)
    assert ack.note == "Known: promotion in March" and ack.acknowledged_by == executive
    html = client.get("/review/").content.decode()
    assert "Known: promotion in March" in html and "1 acknowledged" in html
    # Again: the note is replaced, still one row.
    exception_acknowledge(cycle=company, user=executive, key=key, note="Updated")
    assert ExceptionAcknowledgement.objects.filter(cycle=company).count() == 1


def test_acknowledge_refusals(company, executive):
    planner = UserFactory(username="nobody")
    key = "shortage:S00:S00-F000:2027-02"
    with pytest.raises(ApplicationError) as no_right:
        exception_acknowledge(cycle=company, user=planner, key=key, note="x")
    assert no_right.value.status == 403
    for bad_key, note in ((key, ""), ("nonsense", "x"), ("bogus:S00::2027-01", "x")):
        with pytest.raises(ApplicationError) as bad:
            exception_acknowledge(cycle=company, user=executive, key=bad_key, note=note)
        assert bad.value.status == 400
    cycle_approve(cycle=company, user=executive, override_reason="late")
    with pytest.raises(ApplicationError) as frozen:
        exception_acknowledge(cycle=company, user=executive, key=key, note="x")
    assert frozen.value.status == 409
    assert not ExceptionAcknowledgement.objects.exists()


# --------------------------------------------------------------------------- filters


def test_review_month_filter_applies_to_exceptions_changes_and_charts(client, company, executive):
    from planning.selectors.dashboards import review_page
    from valuestreams.models import ValueStream

    streams = list(ValueStream.objects.order_by("code"))
    whole = review_page(cycle=company, user=executive, streams=streams)
    one = review_page(cycle=company, user=executive, streams=streams, month="2027-03")
    assert one.month_filter == "2027-03" and whole.month_filter == ""
    ex = cycle_analysis(cycle=company).exceptions
    in_march = ex[ex["month"].dt.strftime("%Y-%m") == "2027-03"]
    assert one.exception_total == len(in_march) < whole.exception_total
    assert {r["month"] for r in one.exceptions} == {"2027-03"}
    profit_x = one.figures["profit"].figure.data[0].x
    assert len(profit_x) == 1
    # Changes: one month's totals, smaller than the horizon's.
    now_one = one.change_rows[0]["cells"][0]["current"]
    now_all = whole.change_rows[0]["cells"][0]["current"]
    assert 0 < now_one < now_all
    client.force_login(executive)
    html = client.get("/review/?month=2027-03").content.decode()
    assert "Every figure on this page is filtered to" in html


def test_review_family_filter_narrows_every_figure(company, executive):
    from planning.selectors.dashboards import review_page
    from valuestreams.models import ValueStream

    streams = list(ValueStream.objects.order_by("code"))
    page = review_page(cycle=company, user=executive, streams=streams, family="S01-F003")
    assert page.family.code == "S01-F003" and not page.company_view
    assert [c for c, _ in page.box_columns] == ["S01"]
    assert {r["product_family"] for r in page.exceptions} <= {"S01-F003", ""}
    fam = page.analysis.projection.family
    assert set(fam["product_family"]) == {"S01-F003"}
    first = fam[fam["month"] == fam["month"].min()].iloc[0]
    revenue = next(r for r in page.box_rows if r["metric"].column == "revenue")
    assert revenue["cells"][0]["value"] == pytest.approx(first["demand"] * (100 + 3))


def test_bad_month_gets_a_friendly_message(client, company, executive):
    client.force_login(executive)
    for bad in ("2031-05", "not-a-month", "2027-13"):
        response = client.get(f"/review/?month={bad}")
        assert response.status_code == 200
        assert "is not a month of cycle 2027-01" in response.content.decode()


def test_stream_dashboard_family_filter_scopes_the_kpis(client, company, executive):
    client.force_login(executive)
    html_all = client.get("/value-streams/S00/").content.decode()
    html_one = client.get("/value-streams/S00/?family=S00-F001").content.decode()
    assert "S00-F001&#x27;s alone" in html_one or "S00-F001's alone" in html_one
    assert "alone" not in html_all
    from planning.selectors.dashboards import stream_dashboard
    from valuestreams.models import ValueStream

    s00 = ValueStream.objects.get(code="S00")
    one = stream_dashboard(cycle=company, value_stream=s00, family_code="S00-F001")
    whole = stream_dashboard(cycle=company, value_stream=s00)
    fam = one.analysis.projection.family
    jan = fam[fam["month"] == fam["month"].min()].iloc[0]
    assert one.kpis[0]["value"] == pytest.approx(jan["demand"] * 101)
    assert whole.kpis[0]["value"] > one.kpis[0]["value"]


# --------------------------------------------------------------------------- grid rows


def test_grid_has_stream_totals_last_approved_change_rows_and_units(company):
    from planning.models import Company
    from planning.selectors.grid import grid_data
    from valuestreams.models import ValueStream

    settings = Company.get()
    settings.currency = "USD"
    settings.save()
    data = grid_data(cycle=company, value_stream=ValueStream.objects.get(code="S00"), today=MONTH)
    rows = {r["id"]: r for r in data["rows"]}
    families = sorted({r["family"] for r in data["rows"] if r["family"]})
    field = "m2027-02"
    for measure in ("demand", "production", "ending_inventory"):
        total = rows[f"|total_{measure}"]
        expected = sum(rows[f"{f}|{measure}"]["values"][field] for f in families)
        assert total["values"][field] == pytest.approx(expected)
        assert total["label"].startswith("Σ")
    fam = families[0]
    now = rows[f"{fam}|demand"]["values"][field]
    was = rows[f"{fam}|last_demand"]["values"][field]
    assert was is not None and was != now  # the earlier approved plan differs
    assert rows[f"{fam}|change_demand"]["values"][field] == pytest.approx(now - was)
    assert rows[f"{fam}|last_demand"]["toggle"] == "last"
    assert rows[f"{fam}|change_production"]["toggle"] == "change"
    assert "last approved (2026-12)" in rows[f"{fam}|last_demand"]["label"]
    assert rows["|revenue"]["label"] == "Revenue (USD)"
    assert rows["|available_hours"]["label"] == "Available hours (h)"
    assert rows[f"{fam}|days_of_supply"]["label"] == "Days of supply (days)"
    assert rows["|utilization"]["label"] == "Utilization (%)"
    for row in data["rows"]:
        assert row["label"].endswith(")"), f"unit missing on {row['label']}"


def test_grid_quarter_and_year_subtotals(company):
    from planning.selectors.grid import grid_data
    from valuestreams.models import ValueStream

    data = grid_data(cycle=company, value_stream=ValueStream.objects.get(code="S00"), today=MONTH)
    fields = [c["field"] for c in data["columns"]]
    # Each quarter after its last month, each year after its last quarter.
    assert fields[fields.index("m2027-03") + 1] == "q2027-1"
    assert fields[fields.index("m2027-12") + 1 : fields.index("m2027-12") + 3] == [
        "q2027-4",
        "y2027",
    ]
    assert {c["kind"] for c in data["columns"] if c["field"].startswith(("q", "y"))} == {"subtotal"}
    rows = {r["id"]: r for r in data["rows"]}
    fam = sorted({r["family"] for r in data["rows"] if r["family"]})[0]
    demand = rows[f"{fam}|demand"]["values"]  # an input row carries its subtotals
    q1 = sum(demand[f"m2027-0{m}"] for m in (1, 2, 3))
    assert demand["q2027-1"] == pytest.approx(q1)
    year = sum(demand[f"m2027-{m:02d}"] for m in range(1, 13))
    assert demand["y2027"] == pytest.approx(year)
    inventory = rows[f"{fam}|ending_inventory"]["values"]
    assert inventory["q2027-1"] == inventory["m2027-03"]  # a stock: the last month
    assert rows[f"{fam}|days_of_supply"]["values"]["q2027-1"] is None  # a ratio: empty
    revenue = rows["|revenue"]["values"]
    assert revenue["y2027"] == pytest.approx(sum(revenue[f"m2027-{m:02d}"] for m in range(1, 13)))
