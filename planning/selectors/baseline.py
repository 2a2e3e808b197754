"""Reading what the statistical baseline needs and what it came to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import CharField, FloatField, Q
from django.db.models.functions import Cast

from planning import engine
from planning.calendar import month_add
from planning.measures import ACTUALS_HISTORY_MONTHS, BASELINE_MEASURE
from planning.models import Actual, BaselineFit, BaselineRun, CycleStatus, PlanningCycle, PlanValue
from planning.selectors.plans import _codes, _month_index, _raw_rows
from valuestreams.models import ProductFamily, ValueStream

HISTORY_COLUMNS = ("value_stream", "product_family", "month", "sales")


def sales_history(
    *,
    before: dt.date,
    since: dt.date | None = None,
    families: Iterable[str] | None = None,
    value_streams: Iterable[ValueStream] | None = None,
    months: Iterable[dt.date] | None = None,
) -> pd.DataFrame:
    """Every family's actual sales for the months before ``before`` (and from ``since``),
    optionally of some families, streams or ``months`` only (one query).

    The one place the baseline reads the sales history: the ``actual_sales`` facts, kept
    once per month in :class:`planning.models.Actual` (as
    :func:`planning.selectors.plans.accuracy_inputs` reads them). Columns :data:`HISTORY_COLUMNS`,
    months as ``period[M]``, sorted by family and month.
    """
    qs = Actual.objects.filter(measure="actual_sales", month__lt=before)
    if since is not None:
        qs = qs.filter(month__gte=since)
    if value_streams is not None:
        qs = qs.filter(value_stream__in=list(value_streams))
    if families is not None:
        qs = qs.filter(product_family__code__in=list(families))
    if months is not None:
        qs = qs.filter(month__in=sorted(set(months)))
    rows = _raw_rows(
        qs.order_by().values_list(
            "value_stream__code",
            "product_family__code",
            Cast("month", CharField()),
            Cast("value", FloatField()),
        )
    )
    return _sales_frame(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)))


def baseline_families(*, cycle: PlanningCycle) -> list[tuple[str, str]]:
    """``(value stream code, family code)`` of every family in the cycle's plan, sorted
    by family: the cycle's own master copy (``CycleFamily``), so a frozen or running
    cycle forecasts its own families and streams whatever the live master says now.
    A cycle without any copy (from before copies existed) reads the live master, as
    :func:`planning.selectors.plans.cycle_master_frame` does."""
    copies = cycle.master_families.all()
    if copies.exists():
        return list(
            copies.filter(active=True)
            .order_by("product_family__code")
            .values_list("value_stream__code", "product_family__code")
        )
    return list(
        ProductFamily.objects.filter(active=True)
        .order_by("code")
        .values_list("value_stream__code", "code")
    )


def baseline_run_active(*, cycle: PlanningCycle) -> BaselineRun | None:
    return cycle.baseline_runs.filter(status__in=BaselineRun.ACTIVE).first()


def baseline_run_latest(*, cycle: PlanningCycle) -> BaselineRun | None:
    return cycle.baseline_runs.order_by("-created_at", "-pk").first()


@dataclass(frozen=True)
class BaselineSummary:
    """What the grid and the cycle page say about a cycle's baseline."""

    run: BaselineRun | None
    families: int
    with_baseline: int
    methods: dict[str, int]


def baseline_summary(*, cycle: PlanningCycle) -> BaselineSummary:
    fits = list(cycle.baseline_fits.values_list("method", flat=True))
    methods: dict[str, int] = {}
    for m in fits:
        if m:
            methods[m] = methods.get(m, 0) + 1
    return BaselineSummary(
        run=baseline_run_latest(cycle=cycle),
        families=len(fits),
        with_baseline=sum(methods.values()),
        methods=dict(sorted(methods.items())),
    )


def baseline_fits(
    *, cycle: PlanningCycle, value_stream_codes: Iterable[str] | None = None
) -> list[BaselineFit]:
    """The cycle's fit rows with their family and stream (one query)."""
    qs = cycle.baseline_fits.select_related("product_family__value_stream").order_by(
        "product_family__value_stream__code", "product_family__code"
    )
    if value_stream_codes is not None:
        qs = qs.filter(product_family__value_stream__code__in=list(value_stream_codes))
    return list(qs)


def fva_inputs(
    *,
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    months_back: int = ACTUALS_HISTORY_MONTHS,
) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.Period]]:
    """The lag-1 demand and baseline of the last ``months_back`` closed months before
    ``cycle`` (month m from the frozen plan of cycle m−1), the actual sales from 12
    months earlier still (the naive forecast), and those closed months (two queries)."""
    first = month_add(cycle.month, -months_back)
    months = [month_add(first, i) for i in range(months_back)]
    return months_fva_inputs(months=months, value_streams=value_streams)


def months_fva_inputs(
    *, months: Iterable[dt.date], value_streams: Iterable[ValueStream] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.Period]]:
    """:func:`fva_inputs` for any closed ``months`` (the box score asks for its own)."""
    months = sorted(set(months))
    if not months:
        empty = pd.DataFrame(columns=["value_stream", "product_family", "month", "demand"])
        return empty.assign(baseline=[]), empty.rename(columns={"demand": "actual"}), []
    first, last = months[0], months[-1]
    lag1 = Q()
    for m in months:
        lag1 |= Q(cycle__month=month_add(m, -1), month=m)
    qs = PlanValue.objects.filter(
        lag1,
        measure__in=["demand", BASELINE_MEASURE],
        value__isnull=False,
        cycle__status=CycleStatus.APPROVED,
        month__gte=first,
        month__lte=last,
    )
    streams = None if value_streams is None else list(value_streams)
    if streams is not None:
        qs = qs.filter(value_stream__in=streams)
    rows = _raw_rows(
        qs.order_by().values_list(
            "value_stream__code",
            "product_family__code",
            Cast("month", CharField()),
            "measure",
            Cast("value", FloatField()),
        )
    )
    long = pd.DataFrame(rows, columns=["value_stream", "product_family", "month", "measure", "v"])
    actuals = sales_history(
        before=month_add(last, 1),
        since=month_add(first, -12),
        value_streams=streams,
        months=fva_sales_months(months),
    ).rename(columns={"sales": "actual"})
    return fva_forecasts(long), actuals, [pd.Period(m, freq="M") for m in months]


def fva_sales_months(months: Iterable[dt.date]) -> set[dt.date]:
    """The months whose actual sales FVA reads: each closed month m and its naive
    forecast's m−12 and m−1."""
    return {month_add(m, k) for m in months for k in (0, -1, -12)}


def fva_forecasts(long: pd.DataFrame) -> pd.DataFrame:
    """value_stream, product_family, month (period[M]), demand, baseline from long lag-1
    plan rows (value_stream, product_family, month, measure, v)."""
    from planning.box_score import wide_last

    forecasts = wide_last(
        long.rename(columns={"v": "value"}),
        ["value_stream", "product_family", "month"],
        ("demand", BASELINE_MEASURE),
    ).rename(columns={BASELINE_MEASURE: "baseline"})
    forecasts.columns.name = None
    if not isinstance(forecasts["month"].dtype, pd.PeriodDtype):
        forecasts["month"] = _month_index(forecasts["month"])
    return forecasts


def _sales_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """:data:`HISTORY_COLUMNS` rows as :func:`sales_history` returns them: one per
    family and month (the last read), sorted by family and month. Keys compared as
    integer codes (hashing codes and periods row by row was most of its time)."""
    frame = frame.reset_index(drop=True)
    value_stream = _codes(frame["value_stream"])
    family = _codes(frame["product_family"])
    month = frame["month"]
    if not isinstance(month.dtype, pd.PeriodDtype):
        month = pd.Series(_month_index(month), dtype="period[M]")
    fam_codes, _ = pd.factorize(family, sort=True)
    ordinals = month.array.asi8 if len(month) else np.zeros(0, dtype="int64")
    key = fam_codes.astype("int64") * (1 << 32) + (ordinals - ordinals.min(initial=0))
    keep = ~pd.Index(key).duplicated(keep="last")
    order = np.lexsort((ordinals[keep], fam_codes[keep]))  # stable: by family, then month
    at = np.flatnonzero(keep)[order]
    return pd.DataFrame(
        {
            "value_stream": value_stream.take(at).reset_index(drop=True),
            "product_family": family.take(at).reset_index(drop=True),
            "month": month.take(at).reset_index(drop=True),
            "sales": frame["sales"].astype("float64").take(at).reset_index(drop=True),
        }
    )


def months_fva_from(
    *,
    months: Iterable[dt.date],
    plan: pd.DataFrame,
    facts: pd.DataFrame,
    window: bool = False,
) -> engine.ForecastValueAdded:
    """:func:`months_fva` from frames the caller has read already (the box score reads
    the lag-1 plan and the facts anyway): ``plan``, long rows (value_stream,
    product_family, month as period[M], measure, value) of the frozen plan of cycle m−1
    for each month m; ``facts``, long facts in the same columns covering the
    ``actual_sales`` of :func:`fva_sales_months`. The same rows as the queries of
    :func:`months_fva_inputs`, one engine function; the monthly rows only (no pooled
    window, unless ``window``)."""
    months = sorted(set(months))
    wanted = plan["measure"].isin(["demand", BASELINE_MEASURE]) & plan["value"].notna()
    long = plan.loc[wanted, ["value_stream", "product_family", "month", "measure", "value"]]
    forecasts = fva_forecasts(long.rename(columns={"value": "v"}))
    read = pd.PeriodIndex([pd.Period(m, freq="M") for m in fva_sales_months(months)], freq="M")
    sales = facts[
        (facts["measure"] == "actual_sales")
        & (facts["product_family"] != "")
        & facts["month"].isin(read)
    ]
    sales = sales.loc[:, ["value_stream", "product_family", "month", "value"]]
    actuals = _sales_frame(sales.set_axis(list(HISTORY_COLUMNS), axis=1)).rename(
        columns={"sales": "actual"}
    )
    periods = [pd.Period(m, freq="M") for m in months]
    return engine.forecast_value_added(forecasts, actuals, months=periods, window=window)


def cycle_fva(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> engine.ForecastValueAdded:
    """Forecast value added of the closed months before ``cycle``, per stream and company.

    From the reads the closed-month box score makes of the same months
    (``selectors.actuals.closed_months_reads``: the lag-1 plan with its baseline, the
    facts with the naive forecast's sales), and reused with them while neither changes:
    the review shows both, for the same twelve months when the cycle is the current
    one. The same figures as :func:`fva_inputs` read on its own."""
    from planning.selectors.actuals import closed_months_reads
    from planning.selectors.plans import _reuse

    first = month_add(cycle.month, -ACTUALS_HISTORY_MONTHS)
    months = [month_add(first, i) for i in range(ACTUALS_HISTORY_MONTHS)]
    key, facts, plan = closed_months_reads(months=months, value_streams=value_streams)
    return _reuse(
        ("cycle_fva", key),
        lambda: months_fva_from(months=months, plan=plan, facts=facts, window=True),
    )


def months_fva(
    *, months: Iterable[dt.date], value_streams: Iterable[ValueStream] | None = None
) -> engine.ForecastValueAdded:
    """Forecast value added of closed ``months`` (the box score's ``fva_*`` measures):
    the same engine function as :func:`cycle_fva`, over the months asked for."""
    forecasts, actuals, periods = months_fva_inputs(months=months, value_streams=value_streams)
    return engine.forecast_value_added(forecasts, actuals, months=periods)


@dataclass(frozen=True)
class BaselineRow:
    """One family's baseline as step 1 shows it beside the demand."""

    family: str
    label: str  # "Statistical baseline (AutoETS)" or why there is none
    values: dict[dt.date, float]
    reason: str


def baseline_rows(*, cycle: PlanningCycle, value_stream: ValueStream) -> dict[str, BaselineRow]:
    """Per family code of the stream: its stored baseline by month and how it came
    about (two queries)."""
    values: dict[str, dict[dt.date, float]] = {}
    for code, month, value in PlanValue.objects.filter(
        cycle=cycle, value_stream=value_stream, measure=BASELINE_MEASURE, value__isnull=False
    ).values_list("product_family__code", "month", "value"):
        values.setdefault(code, {})[month] = float(value)
    fits = {
        f.product_family.code: f
        for f in cycle.baseline_fits.filter(
            product_family__value_stream=value_stream
        ).select_related("product_family")
    }
    out: dict[str, BaselineRow] = {}
    for code in set(values) | set(fits):
        fit = fits.get(code)
        method = fit.method if fit else ""
        reason = fit.reason if fit else ""
        label = f"Statistical baseline ({method})" if method else "Statistical baseline"
        out[code] = BaselineRow(code, label, values.get(code, {}), reason)
    return out
