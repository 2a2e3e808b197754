"""Issue 16: the stream dashboard's actual line reads the actuals store (facts kept once
per month), never the plan's own ``actual_sales`` cells — also inside the horizon."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from planning.models import Actual, PlanValue
from planning.selectors.actuals import actual_sales_frame
from planning.services.actuals import ActualInput, actuals_upsert
from tests.dashboard_data import build_company
from valuestreams.models import ProductFamily, ValueStream

pytestmark = pytest.mark.django_db

MONTH = dt.date(2027, 1, 1)
NOW = dt.datetime(2027, 2, 10, 12, tzinfo=dt.UTC)  # February has started: Jan, Feb open


@pytest.fixture
def company(db, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: NOW.date())
    return build_company(streams=1, families=2, month=MONTH)


def test_in_horizon_actuals_entered_as_facts_show_on_the_dashboard(client, company, executive):
    vs = ValueStream.objects.get(code="S00")
    f0, f1 = ProductFamily.objects.filter(value_stream=vs).order_by("code")
    # Entered on the Month close page / import_actuals / actuals API: no plan cell.
    actuals_upsert(
        cells=[
            ActualInput("S00", f0.code, MONTH, "actual_sales", Decimal("70")),
            ActualInput("S00", f1.code, MONTH, "actual_sales", Decimal("5")),
            ActualInput("S00", f0.code, dt.date(2027, 2, 1), "actual_sales", Decimal("11")),
        ],
        user=None,
    )
    # A stale plan cell that disagrees with the fact must not be read (the open plan
    # follows the facts; a raw write puts it out of step).
    PlanValue.objects.update_or_create(
        cycle=company,
        value_stream=vs,
        product_family=f0,
        month=MONTH,
        measure="actual_sales",
        defaults={"value": Decimal("999")},
    )
    client.force_login(executive)
    page = client.get("/value-streams/S00/").context["dash"]
    fig = page.figures["demand"].figure
    actual_trace = next(t for t in fig.data if "ctual" in (t.name or ""))
    points = dict(zip([str(x)[:7] for x in actual_trace.x], actual_trace.y, strict=True))
    assert points["2027-01"] == pytest.approx(75)
    assert points["2027-02"] == pytest.approx(11)
    # History before the horizon comes from the same store (build_company: Dec facts).
    dec = Actual.objects.filter(month=dt.date(2026, 12, 1), value_stream=vs)
    assert points["2026-12"] == pytest.approx(float(sum(a.value for a in dec)))


def test_one_family_view_reads_that_familys_facts_only(client, company, executive):
    vs = ValueStream.objects.get(code="S00")
    f0, f1 = ProductFamily.objects.filter(value_stream=vs).order_by("code")
    actuals_upsert(
        cells=[
            ActualInput("S00", f0.code, MONTH, "actual_sales", Decimal("70")),
            ActualInput("S00", f1.code, MONTH, "actual_sales", Decimal("5")),
        ],
        user=None,
    )
    client.force_login(executive)
    page = client.get(f"/value-streams/S00/?family={f1.code}").context["dash"]
    fig = page.figures["demand"].figure
    actual_trace = next(t for t in fig.data if "ctual" in (t.name or ""))
    points = dict(zip([str(x)[:7] for x in actual_trace.x], actual_trace.y, strict=True))
    assert points["2027-01"] == pytest.approx(5)


def test_actual_sales_frame_filters_stream_family_and_months(company):
    vs = ValueStream.objects.get(code="S00")
    f0 = ProductFamily.objects.filter(value_stream=vs).order_by("code").first()
    actuals_upsert(
        cells=[ActualInput("S00", f0.code, MONTH, "actual_sales", Decimal("70"))], user=None
    )
    frame = actual_sales_frame(value_streams=[vs], family=f0.code, first=MONTH, last=MONTH)
    assert list(frame.columns) == ["value_stream", "product_family", "month", "actual"]
    assert frame["actual"].tolist() == [70.0]
    assert actual_sales_frame(value_streams=[vs], first=dt.date(2027, 3, 1)).empty
