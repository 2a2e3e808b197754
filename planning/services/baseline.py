"""Computing a cycle's statistical baseline: on demand, when a cycle starts, inline.

A run splits the cycle's families into chunks; each chunk is one Celery task
(:func:`planning.tasks.baseline_chunk`) so more workers finish sooner. A chunk reads
the families' sales history, forecasts them (``planning.baseline``), and writes the
values through the one write path (``plan_values_upsert``, history source "baseline")
and the families' fit rows, in one transaction. Running a chunk again writes the same
numbers (unchanged cells) and replaces the same fit rows, so retries are harmless; the
run's progress is the number of families whose fit this run wrote, never a counter
that a retry could bump twice. Cancelling stops the chunks not yet written.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from decimal import Decimal

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from planning import baseline as stats
from planning.calendar import month_add
from planning.measures import BASELINE_MEASURE, value_from_float
from planning.models import BaselineFit, BaselineRun, PlanningCycle, PlanValue, PlanValueChange
from planning.selectors.baseline import baseline_families, baseline_run_active, sales_history
from planning.selectors.cycles import cycle_refuse_frozen
from planning.services.demand_copy import demand_copy
from planning.services.plan_values import CellInput, UpsertResult, plan_values_upsert
from sofp.errors import ApplicationError, PermissionDenied
from valuestreams.models import ProductFamily
from valuestreams.roles import CompanyRole, user_is_admin, user_roles
from valuestreams.selectors import value_streams_editable

CHUNK_FAMILIES = 100

Enqueue = Callable[[int, list[str]], None]


def user_can_request_baseline(user: AbstractBaseUser | None) -> bool:
    """Who may (re)compute it: the demand's owners and the streams' people — sales,
    planners and managers of a stream, admins; ``None`` is a system path."""
    if user is None:
        return True
    return (
        CompanyRole.SALES in user_roles(user)
        or user_is_admin(user)
        or value_streams_editable(user=user).exists()
    )


def _enqueue_chunk(run_id: int, codes: list[str]) -> None:
    from planning.tasks import baseline_chunk
    from sofp.queueing import enqueue_on_commit

    enqueue_on_commit(baseline_chunk, run_id, codes)


def baseline_request(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser | None,
    chunk_families: int = CHUNK_FAMILIES,
    enqueue: Enqueue | None = None,
) -> BaselineRun:
    """Start computing ``cycle``'s baseline in the background (a run, one task per chunk).

    While a run is queued or running, asking again returns that run (no second one).
    Refuses a frozen cycle (its baseline is frozen with it) and users who change no plan.
    """
    if not user_can_request_baseline(user):
        raise PermissionDenied("Only people who change the plan can compute its baseline.")
    enqueue = enqueue or _enqueue_chunk
    with transaction.atomic():
        locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
        cycle_refuse_frozen(locked, "statistical baseline")
        active = baseline_run_active(cycle=locked)
        if active is not None:
            return active
        codes = [code for _, code in baseline_families(cycle=locked)]
        chunks = [codes[i : i + chunk_families] for i in range(0, len(codes), chunk_families)]
        run = BaselineRun.objects.create(
            cycle=locked,
            status=BaselineRun.Status.QUEUED if chunks else BaselineRun.Status.DONE,
            families_total=len(codes),
            chunks_total=len(chunks),
            requested_by=user if getattr(user, "pk", None) else None,
            finished_at=None if chunks else timezone.now(),
        )
        for chunk in chunks:
            enqueue(run.pk, chunk)
    return run


def baseline_cancel(*, run: BaselineRun, user: AbstractBaseUser | None) -> BaselineRun:
    """Stop a run: chunks not yet written skip their work (written ones stay)."""
    if not user_can_request_baseline(user):
        raise PermissionDenied("Only people who change the plan can cancel its baseline.")
    updated = BaselineRun.objects.filter(pk=run.pk, status__in=BaselineRun.ACTIVE).update(
        status=BaselineRun.Status.CANCELLED, finished_at=timezone.now()
    )
    run.refresh_from_db()
    if not updated and run.status != BaselineRun.Status.CANCELLED:
        raise ApplicationError(f"This baseline run is already {run.get_status_display().lower()}.")
    return run


def _write(
    *,
    cycle: PlanningCycle,
    run: BaselineRun | None,
    families: Sequence[tuple[str, str]],
    result: stats.Baseline,
) -> None:
    """The forecast's cells and the fit rows of ``families``; families without a
    baseline have their stored cells cleared (one write, one history per change)."""
    stream_of = dict((code, vs) for vs, code in families)
    months = [month_add(cycle.month, i) for i in range(cycle.horizon)]
    values: dict[tuple[str, dt.date], Decimal] = {}
    periods = result.forecast["month"].array
    for code, period, value in zip(
        result.forecast["product_family"], periods, result.forecast["value"], strict=True
    ):
        values[(code, dt.date(period.year, period.month, 1))] = value_from_float(value)
    cells = [
        CellInput(stream_of[code], code, m, BASELINE_MEASURE, values.get((code, m)))
        for _, code in families
        for m in months
    ]
    plan_values_upsert(cycle=cycle, cells=cells, user=None, source=PlanValueChange.Source.BASELINE)
    ids = dict(ProductFamily.objects.filter(code__in=list(stream_of)).values_list("code", "pk"))
    now = timezone.now()
    BaselineFit.objects.filter(cycle=cycle, product_family_id__in=ids.values()).delete()
    BaselineFit.objects.bulk_create(
        [
            BaselineFit(
                cycle=cycle,
                product_family_id=ids[row.product_family],
                run=run,
                method=row.method,
                model=row.model,
                holdout_wape=None if pd.isna(row.holdout_wape) else float(row.holdout_wape),
                benchmark_wape=None if pd.isna(row.benchmark_wape) else float(row.benchmark_wape),
                history_months=int(row.history_months),
                reason=row.reason,
                computed_at=now,
            )
            for row in result.fits.itertuples(index=False)
        ]
    )


def _forecast(
    *, cycle: PlanningCycle, families: Sequence[tuple[str, str]], n_jobs: int
) -> stats.Baseline:
    codes = [code for _, code in families]
    history = sales_history(before=cycle.month, families=codes)
    return stats.baseline_forecast(
        history.loc[:, list(stats.HISTORY_COLUMNS)],
        start=pd.Period(cycle.month, freq="M"),
        horizon=cycle.horizon,
        families=codes,
        n_jobs=n_jobs,
    )


def baseline_chunk_compute(*, run_id: int, family_codes: Sequence[str]) -> int:
    """One chunk of a run: forecast and write these families. Returns how many were
    written (0 when the run was cancelled, finished or its cycle frozen meanwhile)."""
    run = BaselineRun.objects.select_related("cycle").filter(pk=run_id).first()
    if run is None or not run.is_active:
        return 0
    BaselineRun.objects.filter(pk=run.pk, status=BaselineRun.Status.QUEUED).update(
        status=BaselineRun.Status.RUNNING
    )
    cycle = run.cycle
    if cycle.is_frozen:
        _finish(run, BaselineRun.Status.FAILED, "The cycle was approved (frozen) meanwhile.")
        return 0
    wanted = set(family_codes)
    families = [(vs, code) for vs, code in baseline_families(cycle=cycle) if code in wanted]
    result = _forecast(cycle=cycle, families=families, n_jobs=1)  # outside any transaction
    with transaction.atomic():
        locked = BaselineRun.objects.select_for_update().get(pk=run.pk)
        if not locked.is_active:
            return 0
        _write(cycle=cycle, run=locked, families=families, result=result)
        done = BaselineFit.objects.filter(run=locked).count()
        BaselineRun.objects.filter(pk=locked.pk).update(
            families_done=min(done, locked.families_total)
        )
        if done >= locked.families_total:
            _finish(locked, BaselineRun.Status.DONE)
    return len(families)


def baseline_run_fail(*, run_id: int, error: str) -> None:
    """A chunk gave up after its retries: the run failed (what was written stays)."""
    run = BaselineRun.objects.filter(pk=run_id).first()
    if run is not None and run.is_active:
        _finish(run, BaselineRun.Status.FAILED, error[:2000])


def _finish(run: BaselineRun, status: str, error: str = "") -> None:
    BaselineRun.objects.filter(pk=run.pk, status__in=BaselineRun.ACTIVE).update(
        status=status, error=error, finished_at=timezone.now()
    )


def baseline_compute(
    *, cycle: PlanningCycle, user: AbstractBaseUser | None = None, n_jobs: int | None = None
) -> BaselineRun:
    """The whole baseline now, in this process (``forecast_baseline`` command): one run,
    the families spread over ``n_jobs`` processes (default: every core)."""
    if not user_can_request_baseline(user):
        raise PermissionDenied("Only people who change the plan can compute its baseline.")
    cycle_refuse_frozen(cycle, "statistical baseline")
    if baseline_run_active(cycle=cycle) is not None:
        raise ApplicationError(
            f"The baseline of {cycle.label} is being computed already; wait or cancel it."
        )
    families = baseline_families(cycle=cycle)
    run = BaselineRun.objects.create(
        cycle=cycle,
        status=BaselineRun.Status.RUNNING,
        families_total=len(families),
        chunks_total=1,
        requested_by=user if getattr(user, "pk", None) else None,
    )
    try:
        result = _forecast(cycle=cycle, families=families, n_jobs=n_jobs or os.cpu_count() or 1)
        with transaction.atomic():
            _write(cycle=cycle, run=run, families=families, result=result)
            BaselineRun.objects.filter(pk=run.pk).update(families_done=len(families))
            _finish(run, BaselineRun.Status.DONE)
    except Exception as exc:
        _finish(run, BaselineRun.Status.FAILED, str(exc)[:2000])
        raise
    run.refresh_from_db()
    return run


def demand_use_baseline(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser | None,
    cells: Sequence[tuple[str, dt.date, int | None]],
) -> UpsertResult:
    """Copy the baseline into demand for ``cells`` — ``(family code, month, version of
    the demand the user saw or None)`` — through the one write path: same rights,
    frozen rule and version check as typing it; history says "Demand copied from the
    baseline". A cell without a baseline is a problem (nothing is written)."""
    codes = {code for code, _, _ in cells}
    stored = {
        (code, month): (vs, value)
        for vs, code, month, value in PlanValue.objects.filter(
            cycle=cycle,
            measure=BASELINE_MEASURE,
            product_family__code__in=codes,
            value__isnull=False,
        ).values_list("value_stream__code", "product_family__code", "month", "value")
    }
    return demand_copy(
        cycle=cycle,
        user=user,
        cells=cells,
        lookup=lambda code, month: stored.get((code, month)),
        source=PlanValueChange.Source.USE_BASELINE,
        problem_code="no_baseline",
        missing="statistical baseline",
        summary="baseline",
    )
