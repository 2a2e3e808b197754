"""Computing and storing the statistical baseline: runs, chunks, the write path, the
history it reads, frozen cycles, the command and the export."""

from __future__ import annotations

import datetime as dt
import io
import math
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from planning.baseline import baseline_gap, baseline_gap_text
from planning.calendar import month_add
from planning.models import Actual, BaselineFit, BaselineRun, PlanValue, PlanValueChange
from planning.selectors.baseline import sales_history
from planning.selectors.plans import cycle_export_frame
from planning.services.actuals import ActualInput, actuals_upsert
from planning.services.baseline import (
    baseline_cancel,
    baseline_chunk_compute,
    baseline_compute,
    baseline_request,
    demand_use_baseline,
)
from planning.services.cycles import cycle_start
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import FrozenCycleError, PermissionDenied, ValidationFailed, VersionConflict
from tests.factories import CycleFactory, ProductFamilyFactory

pytestmark = pytest.mark.django_db

JAN = dt.date(2027, 1, 1)
SALES = [100, 120, 90, 110, 130, 95, 105, 125, 115, 100, 110, 120]  # a year, repeated


def _history(cycle, family, months: int, *, start: dt.date | None = None) -> None:
    """``months`` of actual sales before ``cycle``, kept as facts (``Actual``)."""
    start = start or month_add(cycle.month, -months)
    cells = [
        ActualInput(
            family.value_stream.code,
            family.code,
            month_add(start, i),
            "actual_sales",
            Decimal(SALES[i % 12] + i),
        )
        for i in range(months)
    ]
    actuals_upsert(cells=cells, user=None, any_month=True)


def _baseline(cycle, family) -> list[Decimal]:
    return list(
        PlanValue.objects.filter(
            cycle=cycle, product_family=family, measure="statistical_baseline", value__isnull=False
        )
        .order_by("month")
        .values_list("value", flat=True)
    )


@pytest.fixture
def jan(db):
    return CycleFactory(month=JAN, horizon=6)


@pytest.fixture
def families(jan, family_a, family_b):
    """A-1 with 24 months of sales (kept in last year's cycle), B-1 with 2."""
    last_year = CycleFactory(month=dt.date(2026, 1, 1), horizon=12)
    _history(last_year, family_a, 24, start=dt.date(2025, 1, 1))
    _history(jan, family_b, 2)
    return family_a, family_b


def _chunks(run_id: int, codes: list[str], sent: list) -> None:
    sent.append((run_id, codes))


def test_request_splits_families_into_chunks_and_each_chunk_writes_its_families(
    jan, families, sales_user
):
    fam_a, fam_b = families
    sent: list = []
    run = baseline_request(
        cycle=jan,
        user=sales_user,
        chunk_families=1,
        enqueue=lambda r, c: _chunks(r, c, sent),
    )
    assert run.status == "queued" and run.families_total == 2 and run.chunks_total == 2
    assert sent == [(run.pk, ["A-1"]), (run.pk, ["B-1"])]

    assert baseline_chunk_compute(run_id=run.pk, family_codes=["A-1"]) == 1
    run.refresh_from_db()
    assert run.status == "running" and run.families_done == 1
    values = _baseline(jan, fam_a)
    assert len(values) == 6 and all(v > 50 for v in values)

    baseline_chunk_compute(run_id=run.pk, family_codes=["B-1"])
    run.refresh_from_db()
    assert run.status == "done" and run.families_done == 2 and run.finished_at
    assert _baseline(jan, fam_b) == []
    fit_b = BaselineFit.objects.get(cycle=jan, product_family=fam_b)
    assert fit_b.method == "" and "Only 2 months" in fit_b.reason
    fit_a = BaselineFit.objects.get(cycle=jan, product_family=fam_a)
    assert fit_a.method == "AutoETS" and fit_a.history_months == 24
    assert fit_a.holdout_wape is not None and fit_a.benchmark_wape is not None


def test_history_says_baseline_and_a_retried_chunk_changes_nothing(jan, families):
    fam_a, _ = families
    run = baseline_request(cycle=jan, user=None, enqueue=lambda r, c: None)
    baseline_chunk_compute(run_id=run.pk, family_codes=["A-1", "B-1"])
    changes = PlanValueChange.objects.filter(cycle=jan, measure="statistical_baseline")
    assert changes.count() == 6 and set(changes.values_list("source", flat=True)) == {"baseline"}
    before = _baseline(jan, fam_a)
    # A retry (the run is done now) does nothing; a second run writes the same numbers.
    assert baseline_chunk_compute(run_id=run.pk, family_codes=["A-1"]) == 0
    again = baseline_request(cycle=jan, user=None, enqueue=lambda r, c: None)
    assert again.pk != run.pk
    baseline_chunk_compute(run_id=again.pk, family_codes=["A-1", "B-1"])
    baseline_chunk_compute(run_id=again.pk, family_codes=["A-1", "B-1"])
    assert _baseline(jan, fam_a) == before
    assert changes.count() == 6
    again.refresh_from_db()
    assert again.families_done == 2  # counted once, however often a chunk ran


def test_asking_again_while_a_run_is_active_returns_that_run(jan, families):
    first = baseline_request(cycle=jan, user=None, enqueue=lambda r, c: None)
    second = baseline_request(cycle=jan, user=None, enqueue=lambda r, c: None)
    assert first.pk == second.pk
    assert BaselineRun.objects.filter(cycle=jan).count() == 1


def test_cancel_stops_the_chunks_not_yet_written(jan, families, sales_user):
    fam_a, _ = families
    run = baseline_request(cycle=jan, user=None, enqueue=lambda r, c: None)
    baseline_cancel(run=run, user=sales_user)
    assert run.status == "cancelled"
    assert baseline_chunk_compute(run_id=run.pk, family_codes=["A-1", "B-1"]) == 0
    assert _baseline(jan, fam_a) == []


def test_frozen_cycle_refuses_a_baseline_and_its_values_never_change(jan, families):
    fam_a, _ = families
    baseline_compute(cycle=jan, n_jobs=1)
    before = _baseline(jan, fam_a)
    run = baseline_request(cycle=jan, user=None, enqueue=lambda r, c: None)
    jan.status, jan.approved_at = "approved", dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    jan.save()
    with pytest.raises(FrozenCycleError):
        baseline_request(cycle=jan, user=None, enqueue=lambda r, c: None)
    with pytest.raises(FrozenCycleError):
        baseline_compute(cycle=jan, n_jobs=1)
    # A chunk queued before the approval finds the cycle frozen and writes nothing.
    assert baseline_chunk_compute(run_id=run.pk, family_codes=["A-1"]) == 0
    run.refresh_from_db()
    assert run.status == "failed" and "frozen" in run.error
    assert _baseline(jan, fam_a) == before


def test_nobody_types_imports_or_posts_the_baseline(jan, families, planner_a):
    cell = CellInput("A", "A-1", JAN, "statistical_baseline", Decimal("5"))
    for user, source in ((planner_a, "grid"), (None, "import"), (None, "api")):
        with pytest.raises(ValidationFailed) as exc:
            plan_values_upsert(cycle=jan, cells=[cell], user=user, source=source)
        assert exc.value.problems[0].code == "read_only_measure"
    assert not PlanValue.objects.filter(measure="statistical_baseline").exists()


def test_users_who_change_no_plan_may_not_request_it(jan, families, executive):
    with pytest.raises(PermissionDenied):
        baseline_request(cycle=jan, user=executive, enqueue=lambda r, c: None)


def test_sales_history_reads_actual_sales_before_the_month_newest_cycle_winning(jan, family_a):
    dec = CycleFactory(month=dt.date(2026, 12, 1), horizon=6)
    plan_values_upsert(
        cycle=dec,
        cells=[
            CellInput("A", "A-1", dt.date(2026, 11, 1), "actual_sales", Decimal("7")),
            CellInput("A", "A-1", dt.date(2026, 10, 1), "actual_sales", Decimal("5")),
        ],
        user=None,
    )
    plan_values_upsert(
        cycle=jan,
        cells=[
            CellInput("A", "A-1", dt.date(2026, 11, 1), "actual_sales", Decimal("8")),
            CellInput("A", "A-1", JAN, "actual_sales", Decimal("99")),  # not before JAN
        ],
        user=None,
    )
    frame = sales_history(before=JAN)
    assert [(str(m), s) for m, s in zip(frame["month"], frame["sales"], strict=True)] == [
        ("2026-10", 5.0),
        ("2026-11", 8.0),
    ]
    assert set(frame["value_stream"]) == {"A"}


def test_starting_a_cycle_asks_for_its_baseline_after_the_roll_forward(
    executive, family_a, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list = []
    monkeypatch.setattr(
        "planning.services.baseline._enqueue_chunk", lambda r, c: sent.append((r, c))
    )
    cycle, _ = cycle_start(month=dt.date(2027, 3, 1), user=executive)
    run = BaselineRun.objects.get(cycle=cycle)
    assert run.requested_by is None and run.families_total == 1
    assert sent == [(run.pk, ["A-1"])]


def test_roll_forward_does_not_copy_the_old_baseline(jan, families, executive):
    fam_a, _ = families
    baseline_compute(cycle=jan, n_jobs=1)
    jan.status, jan.approved_at = "approved", dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    jan.save()
    feb, _ = cycle_start(month=dt.date(2027, 2, 1), user=executive)
    assert _baseline(feb, fam_a) == []


def test_command_computes_inline_and_export_carries_the_baseline(jan, families):
    fam_a, _ = families
    out = io.StringIO()
    call_command("forecast_baseline", "--cycle", "2027-01", "--jobs", "1", stdout=out)
    text = out.getvalue()
    assert "Baseline of 2027-01: 1 of 2 families forecast (AutoETS 1)" in text
    assert "1 family has no baseline" in text
    frame = cycle_export_frame(cycle=jan)
    rows = frame[frame["measure"] == "statistical_baseline"]
    assert list(rows["product_family"]) == ["A-1"] * 6
    stored = [float(v) for v in _baseline(jan, fam_a)]
    assert list(rows["value"]) == pytest.approx(stored)
    run = BaselineRun.objects.get(cycle=jan)
    assert run.status == "done" and run.families_done == 2


def test_command_names_an_unknown_cycle():
    with pytest.raises(CommandError, match="no cycle"):
        call_command("forecast_baseline", "--cycle", "2030-01")


def test_a_family_that_lost_its_history_loses_its_old_baseline(jan, families):
    fam_a, _ = families
    baseline_compute(cycle=jan, n_jobs=1)
    assert _baseline(jan, fam_a)
    Actual.objects.filter(product_family=fam_a, measure="actual_sales").delete()
    baseline_compute(cycle=jan, n_jobs=1)
    assert _baseline(jan, fam_a) == []
    assert BaselineFit.objects.get(cycle=jan, product_family=fam_a).history_months == 0


def test_new_families_without_sales_get_the_reason(jan):
    fam = ProductFamilyFactory(code="NEW-1")
    baseline_compute(cycle=jan, n_jobs=1)
    fit = BaselineFit.objects.get(cycle=jan, product_family=fam)
    assert fit.reason.startswith("No sales history")


def test_use_baseline_copies_it_into_demand_through_the_write_path(jan, families, planner_a):
    fam_a, _ = families
    baseline_compute(cycle=jan, n_jobs=1)
    wanted = _baseline(jan, fam_a)[:2]
    result = demand_use_baseline(
        cycle=jan, user=planner_a, cells=[("A-1", JAN, None), ("A-1", month_add(JAN, 1), 0)]
    )
    assert result.added == 2
    demand = list(
        PlanValue.objects.filter(cycle=jan, product_family=fam_a, measure="demand")
        .order_by("month")
        .values_list("value", flat=True)
    )
    assert demand == wanted
    sources = set(
        PlanValueChange.objects.filter(cycle=jan, measure="demand").values_list("source", flat=True)
    )
    assert sources == {"use_baseline"}


def test_use_baseline_checks_versions_rights_and_missing_baselines(
    jan, families, planner_a, finance_user
):
    baseline_compute(cycle=jan, n_jobs=1)
    plan_values_upsert(
        cycle=jan, cells=[CellInput("A", "A-1", JAN, "demand", Decimal("7"))], user=None
    )
    with pytest.raises(VersionConflict):  # the user saw the empty cell (version 0)
        demand_use_baseline(cycle=jan, user=planner_a, cells=[("A-1", JAN, 0)])
    with pytest.raises(ValidationFailed) as exc:
        demand_use_baseline(cycle=jan, user=planner_a, cells=[("B-1", JAN, None)])
    assert exc.value.problems[0].code == "no_baseline"
    with pytest.raises(PermissionDenied):
        demand_use_baseline(cycle=jan, user=finance_user, cells=[("A-1", JAN, None)])
    assert (
        PlanValue.objects.get(
            cycle=jan, product_family__code="A-1", measure="demand", month=JAN
        ).value
        == 7
    )


def test_baseline_gap_flags_demand_far_from_the_baseline():
    assert baseline_gap(100.0, 100.0) is None
    assert baseline_gap(129.0, 100.0) is None
    assert baseline_gap(131.0, 100.0) == pytest.approx(0.31)
    assert baseline_gap(60.0, 100.0) == pytest.approx(-0.4)
    assert baseline_gap(5.0, 0.0) == math.inf and baseline_gap(None, 5.0) is None
    assert "40% below the statistical baseline (100)" in baseline_gap_text(60.0, 100.0, -0.4)


def test_baseline_families_are_the_cycles_own_master_copy(family_a, family_b, stream_b):
    """A frozen (or running) cycle forecasts the families of its own master copy, not
    the live master's: a family added, moved or retired later changes nothing there."""
    from planning.models import CycleFamily
    from planning.selectors.baseline import baseline_families
    from planning.services.cycle_master import cycle_master_fill

    frozen = CycleFactory(month=dt.date(2026, 12, 1))
    cycle_master_fill(cycle=frozen)
    frozen.status = "approved"
    frozen.approved_at = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    frozen.save()
    assert baseline_families(cycle=frozen) == [("A", "A-1"), ("B", "B-1")]
    # Later, in the master: a new family, A-1 retired, B-1 moved to stream A.
    ProductFamilyFactory(code="A-9", value_stream=family_a.value_stream)
    family_a.active = False
    family_a.save()
    family_b.value_stream = family_a.value_stream
    family_b.save()
    assert baseline_families(cycle=frozen) == [("A", "A-1"), ("B", "B-1")]
    # Out of a cycle's plan (its copy says so): no baseline for it.
    CycleFamily.objects.filter(cycle=frozen, product_family=family_b).update(active=False)
    assert baseline_families(cycle=frozen) == [("A", "A-1")]
