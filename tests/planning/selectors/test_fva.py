"""Forecast value added from the database: lag-1 demand and baseline of frozen cycles,
the sales history, and the review's FVA table, chart and box score rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from planning.selectors.baseline import cycle_fva
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db

JAN26, DEC, JAN, FEB = (
    dt.date(2026, 1, 1),
    dt.date(2026, 12, 1),
    dt.date(2027, 1, 1),
    dt.date(2027, 2, 1),
)


def _write(cycle, measure, month, value, source="demo"):
    plan_values_upsert(
        cycle=cycle,
        cells=[CellInput("A", "A-1", month, measure, Decimal(value))],
        user=None,
        source=source,
    )


@pytest.fixture
def closed_january(family_a, family_b):
    """Cycle 2026-12 (frozen) forecast January: demand 120, baseline 105; actual 110,
    and 100 a year before. Cycle 2027-02 is being planned."""
    dec = CycleFactory(month=DEC, horizon=3)
    _write(dec, "demand", JAN, "120")
    _write(dec, "statistical_baseline", JAN, "105", source="baseline")
    _write(dec, "actual_sales", JAN26, "100")
    dec.status, dec.approved_at = "approved", dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    dec.save()
    feb = CycleFactory(month=FEB, horizon=3, status="in_progress")
    _write(feb, "actual_sales", JAN, "110")
    return feb


def test_cycle_fva_reads_frozen_lag1_forecasts_and_the_sales_history(closed_january):
    fva = cycle_fva(cycle=closed_january)
    row = fva.monthly.set_index("value_stream").loc["A"]
    assert str(row["month"]) == "2027-01"
    assert row["naive_wape"] == pytest.approx(10 / 110)
    assert row["baseline_wape"] == pytest.approx(5 / 110)
    assert row["demand_wape"] == pytest.approx(10 / 110)
    assert row["fva_statistics"] == pytest.approx(5 / 110)
    assert row["fva_consensus"] == pytest.approx(-5 / 110)
    window = fva.window.set_index("value_stream")
    assert window.loc["", "months"] == 1
    assert window.loc["", "fva_statistics"] == pytest.approx(5 / 110)


def test_review_shows_fva_table_chart_and_box_score_rows(client, executive, closed_january):
    client.force_login(executive)
    response = client.get(reverse("cycle_review", args=["2027-02"]))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="fva"' in text and 'data-fva="company"' in text and 'data-fva="A"' in text
    assert "+4.5 pp" in text  # FVA of the statistics: 9.1% − 4.5%
    assert "−4.5 pp" in text  # FVA of the consensus
    assert "FVA of the statistics" in text and "chart-fva" in text


def test_box_score_fva_measures_come_from_the_one_fva(closed_january, client_for, admin_user):
    """``export_box_score`` and ``/api/v1/box-score/`` carry ``fva_statistics`` and
    ``fva_consensus`` of the month (lag 1), per stream and company, as ``cycle_fva``
    computes them; ``on_time_launch`` stays empty (launches are another issue)."""
    from planning.selectors.actuals import box_score_export_rows

    rows = box_score_export_rows(month=JAN)
    got = {(vs, m): v for vs, _month, m, v in rows.itertuples(index=False)}
    fva = cycle_fva(cycle=closed_january).monthly.set_index("value_stream")
    for stream in ("A", ""):
        assert got[(stream, "fva_statistics")] == pytest.approx(5 / 110)
        assert got[(stream, "fva_consensus")] == pytest.approx(-5 / 110)
        assert got[(stream, "fva_statistics")] == pytest.approx(fva.loc[stream, "fva_statistics"])
    assert got[("", "on_time_launch")] != got[("", "on_time_launch")]  # NaN: empty


def test_box_score_api_carries_fva(closed_january, client_for, admin_user, monkeypatch):
    # January 2027 has closed in this test's world.
    monkeypatch.setattr("planning.selectors.actuals.current_month", lambda *a, **k: FEB)
    body = client_for(admin_user).get("/api/v1/box-score/?month=2027-01").json()
    got = {(x["value_stream"], x["measure"]): x["value"] for x in body["results"]}
    assert float(got[("A", "fva_statistics")]) == pytest.approx(5 / 110, abs=1e-6)
    assert float(got[("", "fva_consensus")]) == pytest.approx(-5 / 110, abs=1e-6)
    assert got[("", "on_time_launch")] is None
