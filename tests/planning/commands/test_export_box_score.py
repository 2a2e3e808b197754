"""``export_box_score --month``: facts of a closed month against the frozen plan m−1,
through the real path (import_actuals, the plan, the selector, the CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from planning.box_score import EXPORT_MEASURES
from planning.models import CycleStatus, PlanValue
from planning.services.actuals import ActualInput, actuals_upsert
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db
OCT = dt.date(2026, 10, 1)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_export_box_score_writes_the_listed_measures(family_a, family_b, tmp_path):
    # family_a: A-1 in stream A; factories set prices — read them back for the numbers
    price, cost = family_a.unit_price, family_a.unit_material_cost
    sep = CycleFactory(
        month=dt.date(2026, 9, 1), status=CycleStatus.APPROVED, approved_at=timezone.now()
    )
    PlanValue.objects.create(
        cycle=sep,
        value_stream=family_a.value_stream,
        product_family=family_a,
        month=OCT,
        measure="demand",
        value=80,
    )
    actuals_upsert(
        cells=[
            ActualInput("A", "A-1", OCT, "actual_sales", Decimal(100)),
            ActualInput("A", "", OCT, "orders_shipped", Decimal(10)),
            ActualInput("A", "", OCT, "orders_on_time", Decimal(9)),
            ActualInput("A", "", OCT, "headcount", Decimal(4)),
        ],
        user=None,
    )
    text = run("export_box_score", "--month", "2026-10")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["value_stream", "month", "measure", "value"]
    got = {(r["value_stream"], r["measure"]): r["value"] for r in rows}
    assert {m for (_, m) in got} == set(EXPORT_MEASURES)
    assert got[("A", "on_time_delivery")] == "0.900000"
    assert float(got[("A", "actual_revenue")]) == pytest.approx(100 * float(price))
    assert float(got[("A", "revenue_per_person")]) == pytest.approx(25 * float(price))
    assert float(got[("A", "plan_revenue")]) == pytest.approx(80 * float(price))
    assert got[("A", "demand_wape")] == "0.200000"
    assert got[("A", "demand_bias")] == "-0.200000"
    assert got[("A", "dock_to_dock_days")] == "" and got[("", "dock_to_dock_days")] == ""
    assert got[("", "on_time_delivery")] == "0.900000"
    assert all(r["month"] == "2026-10" for r in rows)
    assert cost is not None
    out = tmp_path / "b.csv"
    run("export_box_score", "--month", "2026-10", "--output", str(out))
    assert out.read_text() == text


def test_open_or_bad_month_is_refused(db):
    with pytest.raises(CommandError, match="not a month"):
        run("export_box_score", "--month", "2026-13")
    with pytest.raises(CommandError, match="has not closed"):
        run("export_box_score", "--month", "2999-01")
