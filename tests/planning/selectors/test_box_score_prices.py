"""The prices a closed month is valued at (SOFP.md "Actuals"): cycle m's master copy,
else the newest cycle before m, else the family master; all cycles read at once
(``cycle_master_prices``) and the same rows as ``cycle_master_frame`` per cycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta

from planning.models import CycleFamily
from planning.selectors.actuals import (
    _month_prices,
    closed_months_box_score,
    cycle_master_prices,
)
from planning.selectors.plans import cycle_master_frame
from planning.services.actuals import ActualInput, actuals_upsert
from tests.factories import CycleFactory
from valuestreams.models import ProductFamily

pytestmark = pytest.mark.django_db
AUG, SEP, OCT, NOV, DEC = (dt.date(2026, m, 1) for m in (8, 9, 10, 11, 12))


@pytest.fixture
def world(family_a, family_b):
    """SEP's copy prices A-1 at 20; NOV has no copy at all (from before copies); the
    master says 30 for A-1 (changed after the copies were taken)."""
    sep = CycleFactory(month=SEP)
    nov = CycleFactory(month=NOV)
    CycleFamily.objects.filter(cycle=sep, product_family=family_a).update(
        unit_price=Decimal("20"), unit_material_cost=Decimal("4")
    )
    CycleFamily.objects.filter(cycle=nov).delete()
    ProductFamily.objects.filter(pk=family_a.pk).update(
        unit_price=Decimal("30"), unit_material_cost=Decimal("6")
    )
    return {"sep": sep, "nov": nov}


def _price(frame: pd.DataFrame, month: dt.date, family: str) -> float:
    hit = frame[
        (frame["month"] == pd.Period(month, freq="M")) & (frame["product_family"] == family)
    ]
    assert len(hit) == 1
    return float(hit["unit_price"].iloc[0])


def test_each_month_takes_its_cycle_else_the_newest_before_else_the_master(world):
    prices = _month_prices([AUG, SEP, OCT, NOV, DEC], None)
    assert _price(prices, AUG, "A-1") == 30.0  # no cycle yet: the master
    assert _price(prices, SEP, "A-1") == 20.0  # its own cycle's copy
    assert _price(prices, OCT, "A-1") == 20.0  # the newest cycle before: SEP
    assert _price(prices, NOV, "A-1") == 30.0  # NOV's cycle has no copy: live master
    assert _price(prices, DEC, "A-1") == 30.0  # newest before: NOV (live master)
    assert set(prices.columns) == {
        "product_family",
        "unit_price",
        "unit_material_cost",
        "hours_per_unit",
        "month",
    }
    assert len(prices) == 5 * 2  # one row per family and month


def test_the_box_score_values_facts_at_those_prices(world, family_a):
    cells = [ActualInput("A", "A-1", m, "actual_sales", Decimal(2)) for m in (AUG, SEP, OCT)]
    actuals_upsert(cells=cells, user=None)
    score = closed_months_box_score(months=[AUG, SEP, OCT])
    stream = score[score["value_stream"] == "A"].set_index("month")["actual_revenue"]
    assert stream[pd.Period(AUG, freq="M")] == pytest.approx(60.0)
    assert stream[pd.Period(SEP, freq="M")] == pytest.approx(40.0)
    assert stream[pd.Period(OCT, freq="M")] == pytest.approx(40.0)


def test_all_cycles_at_once_equal_each_cycle_master_frame(world, family_a, stream_a):
    # A family out of SEP's plan is not priced from SEP.
    CycleFamily.objects.filter(cycle=world["sep"], product_family__code="B-1").update(active=False)
    ProductFamily.objects.filter(code="B-1").update(active=False)
    cycles = [world["sep"], world["nov"]]
    for streams in (None, [stream_a]):
        batch = cycle_master_prices(cycles=[c.pk for c in cycles], value_streams=streams)
        for c in cycles:
            one = cycle_master_frame(cycle=c, value_streams=streams)
            got = batch[batch["cycle"] == c.pk].drop(columns="cycle")
            got = got.sort_values("product_family").reset_index(drop=True)
            want = one[list(got.columns)].sort_values("product_family").reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want)


def test_a_stream_filter_that_leaves_a_cycle_empty_does_not_read_the_master(world, stream_b):
    CycleFamily.objects.filter(cycle=world["sep"], value_stream=stream_b).delete()
    batch = cycle_master_prices(cycles=[world["sep"].pk], value_streams=[stream_b])
    assert batch.empty
    assert cycle_master_frame(cycle=world["sep"], value_streams=[stream_b]).empty


def test_no_cycles_is_an_empty_frame():
    assert cycle_master_prices(cycles=[]).empty
    assert _month_prices([], None).empty


@pytest.fixture
def history(family_a, family_b):
    """Two streams, 16 months of actual sales and stream facts, and frozen lag-1 plans
    (demand, production, baseline, conversion cost) for the last four months; family
    B-1 has no sales 12 months before its first planned month (naive falls to m−1)."""
    from planning.models import Actual, CycleStatus, PlanValue

    months = [dt.date(2025, 9, 1) + relativedelta(months=i) for i in range(16)]  # → 2026-12
    value = iter(range(50, 10_000, 7))
    for m in months:
        for fam in (family_a, family_b):
            if fam is family_b and m == dt.date(2025, 9, 1):
                continue
            for measure in ("actual_sales", "actual_production"):
                Actual.objects.create(
                    value_stream=fam.value_stream,
                    product_family=fam,
                    month=m,
                    measure=measure,
                    value=Decimal(next(value)),
                )
        for vs in (family_a.value_stream, family_b.value_stream):
            for measure in ("actual_productive_hours", "orders_shipped", "headcount"):
                Actual.objects.create(value_stream=vs, month=m, measure=measure, value=Decimal(40))
    for m in months[-4:]:
        cycle = CycleFactory(month=m - relativedelta(months=1), status=CycleStatus.APPROVED)
        for fam in (family_a, family_b):
            for measure in ("demand", "production", "statistical_baseline"):
                PlanValue.objects.create(
                    cycle=cycle,
                    value_stream=fam.value_stream,
                    product_family=fam,
                    month=m,
                    measure=measure,
                    value=Decimal(next(value) % 200),
                )
        PlanValue.objects.create(
            cycle=cycle,
            value_stream=family_a.value_stream,
            month=m,
            measure="conversion_cost",
            value=Decimal(500),
        )
    return months


@pytest.mark.parametrize("last", [1, 2, 4])
def test_box_score_fva_equals_the_fva_read_on_its_own(history, last):
    """The box score hands FVA the plan and facts it has read: the same figures as
    ``months_fva`` reading them itself (lag-1 demand and baseline, sales of m−12/m−1)."""
    from planning.selectors.baseline import months_fva

    months = history[-last:]
    score = closed_months_box_score(months=months)
    alone = months_fva(months=months).monthly.set_index(["value_stream", "month"])
    assert len(score) == len(alone) == 3 * last  # A, B and the company, each month
    for r in score.itertuples():
        want = alone.loc[(r.value_stream, r.month)]
        assert r.fva_statistics == pytest.approx(want["fva_statistics"], nan_ok=True)
        assert r.fva_consensus == pytest.approx(want["fva_consensus"], nan_ok=True)
        assert r.fva_statistics == r.fva_statistics  # known: plans and sales exist
