"""Reading actuals (SOFP.md "Actuals"): who may change which, the months that are open
for facts, and the frames the engine's box score reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import FloatField, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from planning.calendar import month_add
from planning.measures import (
    ACTUAL_FACTS,
    FINANCE_ACTUALS,
    OPERATIONS_ACTUALS,
    SALES_ACTUALS,
)
from planning.models import Actual
from planning.selectors.cycles import company_currency, company_zone
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import CompanyRole, user_roles
from valuestreams.selectors import stream_measure_grants

ALL_ACTUALS: frozenset[str] = frozenset(ACTUAL_FACTS)
# Planners and managers enter their streams' operational actuals and actual sales.
PLANNER_ACTUALS: frozenset[str] = OPERATIONS_ACTUALS | {"actual_sales"}


def current_month(now: dt.datetime | None = None, *, today: dt.date | None = None) -> dt.date:
    """The first day of this month in the company's time zone: the last month actuals
    may be entered for (it has started). The one answer for the grid, the Month close
    page, files, the API and the box score (``today``: a date already in that zone)."""
    if today is None:
        today = (now or timezone.now()).astimezone(company_zone()).date()
    return today.replace(day=1)


def last_closed_month(now: dt.datetime | None = None) -> dt.date:
    """The month before the current one: the month the box score of facts reports."""
    return month_add(current_month(now), -1)


@dataclass(frozen=True, eq=False)
class ActualRights:
    """Which actual measures a user changes, per stream (SOFP.md "Who changes what")."""

    per_stream: Mapping[int, frozenset[str]] = field(default_factory=dict)
    every_stream: frozenset[str] = frozenset()

    def measures(self, *, value_stream_id: int) -> frozenset[str]:
        return self.every_stream | self.per_stream.get(value_stream_id, frozenset())

    def may_edit(self, *, value_stream_id: int, measure: str | None = None) -> bool:
        measures = self.measures(value_stream_id=value_stream_id)
        return bool(measures) if measure is None else measure in measures


def actual_rights(*, user) -> ActualRights:
    """``user=None`` is a trusted system path (demo data, an operator's command)."""
    if user is None:
        return ActualRights(every_stream=ALL_ACTUALS)
    if not user.is_authenticated:
        return ActualRights()
    if user.is_superuser:
        return ActualRights(every_stream=ALL_ACTUALS)
    roles = user_roles(user)
    per_stream, every = stream_measure_grants(
        user=user,
        sales=CompanyRole.SALES in roles,
        planner_measures=PLANNER_ACTUALS,
        sales_measures=SALES_ACTUALS,
    )
    if CompanyRole.FINANCE in roles:
        every |= FINANCE_ACTUALS
    return ActualRights(per_stream=per_stream, every_stream=every)


def actuals_query(
    *,
    value_streams: Iterable[ValueStream] | None = None,
    measures: Iterable[str] | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> QuerySet[Actual]:
    qs = Actual.objects.all()
    if value_streams is not None:
        qs = qs.filter(value_stream__in=list(value_streams))
    if measures is not None:
        qs = qs.filter(measure__in=list(measures))
    if first is not None:
        qs = qs.filter(month__gte=first)
    if last is not None:
        qs = qs.filter(month__lte=last)
    return qs


ACTUAL_FRAME_COLUMNS = ("value_stream", "product_family", "month", "measure", "value")


def actuals_frame(qs: QuerySet) -> pd.DataFrame:
    """Long frame: value_stream, product_family ("" for stream rows), month (Period),
    measure, value (float). One query, read straight from the cursor and converted
    column by column (Django's per-cell converters were most of the time)."""
    from planning.selectors.plans import _month_index, _raw_rows

    rows = _raw_rows(
        qs.order_by().values_list(
            "value_stream__code",
            "product_family__code",
            "month",
            "measure",
            Cast("value", FloatField()),
        )
    )
    frame = pd.DataFrame(rows, columns=list(ACTUAL_FRAME_COLUMNS))
    frame["product_family"] = frame["product_family"].fillna("").astype(str)
    frame["value_stream"] = frame["value_stream"].astype(str)
    frame["month"] = _month_index(frame["month"])
    frame["value"] = frame["value"].astype("float64")
    return frame


def actual_sales_frame(
    *,
    value_streams: Iterable[ValueStream] | None = None,
    family: str = "",
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> pd.DataFrame:
    """Actual sales per family and month from the actuals store (one query): the one
    reader of sales facts for charts, whichever path wrote them (Month close page,
    ``import_actuals``, the actuals API, a plan file or the grid). Columns
    value_stream, product_family, month (Period), actual. A plan's own ``actual_sales``
    cells are only the copy a plan write leaves behind; nothing reads them as facts."""
    qs = actuals_query(
        value_streams=value_streams, measures=["actual_sales"], first=first, last=last
    )
    qs = qs.filter(product_family__isnull=False)
    if family:
        qs = qs.filter(product_family__code=family)
    frame = actuals_frame(qs)
    return frame.drop(columns="measure").rename(columns={"value": "actual"})


def actuals_for_stream_month(*, value_stream: ValueStream, month: dt.date) -> dict:
    """``{(family_code or "", measure): Actual}`` of one stream and month (the close page)."""
    qs = Actual.objects.filter(value_stream=value_stream, month=month).select_related(
        "product_family", "updated_by"
    )
    return {(a.product_family.code if a.product_family else "", a.measure): a for a in qs}


# The actual rows of the planner's grid (read from the facts, whatever path wrote them).
GRID_ACTUAL_MEASURES: tuple[str, ...] = ("actual_sales",)


@dataclass(frozen=True, slots=True)
class ActualCell:
    """One fact as the grid shows it: value, version (of the fact) and who/when."""

    family: str
    month: dt.date
    measure: str
    value: object
    version: int
    changed_by: str | None
    changed_at: dt.datetime


# The columns of a grid's fact cell, in :class:`ActualCell`'s order.
ACTUAL_CELL_FIELDS = (
    "product_family__code",
    "month",
    "measure",
    "value",
    "version",
    "updated_by__username",
    "updated_at",
)


def stream_family_facts(
    *,
    value_stream_id: int,
    first: dt.date,
    last: dt.date,
    measures: Iterable[str] = GRID_ACTUAL_MEASURES,
) -> QuerySet[Actual]:
    """The family facts of one stream from ``first`` to ``last``: the one query the
    grid's actual rows and its engine's facts read (``grid_inputs`` compiles it once)."""
    return Actual.objects.filter(
        value_stream_id=value_stream_id,
        product_family__isnull=False,
        measure__in=list(measures),
        month__gte=first,
        month__lte=last,
    ).order_by()


def grid_actuals(
    *,
    value_stream: ValueStream,
    first: dt.date,
    last: dt.date,
    measures: Iterable[str] = GRID_ACTUAL_MEASURES,
) -> list[ActualCell]:
    """The family facts of one stream from ``first`` to ``last`` (one query): what the
    grid's actual rows show, entered on the Month close page, by ``import_actuals``,
    the API, a plan file or the grid itself."""
    rows = stream_family_facts(
        value_stream_id=value_stream.pk, first=first, last=last, measures=measures
    ).values_list(*ACTUAL_CELL_FIELDS)
    return [ActualCell(*r) for r in rows]


# --------------------------------------------------------------------------- box score


def _lag1_plan_query(months: list[dt.date], streams: list[ValueStream] | None):
    """Demand, production, conversion cost and the statistical baseline (for FVA) for
    each month m in the frozen plan of cycle m−1 (SOFP.md: "plan" of a closed month)."""
    from django.db.models import Q

    from planning.measures import BASELINE_MEASURE
    from planning.models import CycleStatus, PlanValue

    lag1 = Q()
    for m in months:
        lag1 |= Q(cycle__month=month_add(m, -1), month=m)
    qs = PlanValue.objects.filter(
        lag1,
        cycle__status=CycleStatus.APPROVED,
        measure__in=("demand", "production", "conversion_cost", BASELINE_MEASURE),
        month__gte=min(months),
        month__lte=max(months),
    )
    if streams is not None:
        qs = qs.filter(value_stream__in=streams)
    return qs


def closed_months_reads(
    *, months: list[dt.date], value_streams: Iterable[ValueStream] | None = None
) -> tuple[tuple, pd.DataFrame, pd.DataFrame]:
    """What the box score of closed ``months`` reads, and the key it is kept under: the
    facts of the months with the actual sales FVA's naive forecast reads (m−1, m−12),
    and the lag-1 plan (demand, production, conversion cost, the statistical baseline)
    — two queries, each a long frame of :data:`ACTUAL_FRAME_COLUMNS`.

    Reused while neither changes (``_reuse``: a fingerprint of the facts, the stamp of
    the approved cycles), so the review's forecast value added
    (``selectors.baseline.cycle_fva``) and the closed-month box score share one read.
    ``months`` must not be empty."""
    from django.db.models import Q

    from planning.selectors.baseline import fva_sales_months
    from planning.selectors.plans import _frozen_stamp, _reuse, _values_fingerprint

    streams = None if value_streams is None else list(value_streams)
    months = sorted(set(months))
    earlier = sorted(fva_sales_months(months) - set(months))
    facts = actuals_query(value_streams=streams, first=earlier[0], last=months[-1]).filter(
        Q(month__in=months) | Q(measure="actual_sales", month__in=earlier)
    )
    plan_qs = _lag1_plan_query(months, streams)  # with the baseline FVA compares
    key = (
        "closed_reads",
        facts.db,
        tuple(months),
        None if streams is None else tuple(sorted(vs.pk for vs in streams)),
        _values_fingerprint(facts),
        _frozen_stamp(),  # the plan of a closed month: approved (frozen) cycles only
    )
    facts_frame, plan_frame = _reuse(key, lambda: (actuals_frame(facts), actuals_frame(plan_qs)))
    return key, facts_frame, plan_frame


def closed_months_box_score(
    *,
    months: list[dt.date],
    value_streams: Iterable[ValueStream] | None = None,
    family: str = "",
) -> pd.DataFrame:
    """The engine's box score (``planning.box_score``) of closed ``months`` for the given
    streams (None: all) and the company rows over them, with FVA. A constant number of
    queries (facts with the naive forecast's sales, lag-1 plan with the baseline,
    prices, the lag-1 plan's development hours: 7 to 9, plus the reuse key's
    fingerprints), whatever the number of streams, families and months.

    Prices and costs of month m come from cycle m's master copy, else from the newest
    cycle before m (SOFP.md "Actuals"), else from the family master.
    """
    from planning import box_score
    from planning.measures import BASELINE_MEASURE
    from planning.models import CycleStatus, PlanningCycle
    from planning.selectors.plans import _reuse

    streams = None if value_streams is None else list(value_streams)
    months = sorted(set(months))
    if not months:
        return box_score.closed_box_score(
            actuals=actuals_frame(Actual.objects.none()), master=_month_prices([], streams)
        )
    # The facts of the months with the actual sales FVA's naive forecast reads, and the
    # lag-1 plan with the baseline: one read, shared with the review's FVA.
    reads_key, read, lag1 = closed_months_reads(months=months, value_streams=streams)
    if family:  # one family's rows (and the streams' own): its per-family measures
        read = read[read["product_family"].isin(["", family])]
        lag1 = lag1[lag1["product_family"].isin(["", family])]
        reads_key = (*reads_key, family)
    frozen = set(
        PlanningCycle.objects.filter(
            status=CycleStatus.APPROVED, month__in=[month_add(m, -1) for m in months]
        ).values_list("month", flat=True)
    )
    codes = (
        [vs.code for vs in streams]
        if streams is not None
        else list(ValueStream.objects.filter(active=True).values_list("code", flat=True))
    )
    prices = _month_price_sources(months, streams)
    # Facts change without a cycle: the key holds the reads' key (fingerprints of the
    # facts and the frozen plans read), and the prices themselves (digests of the
    # copies read, not of the month-by-month table built from them), so a hit is what
    # a fresh run gives.
    key = ("closed_box_score", reads_key, tuple(codes), tuple(sorted(frozen)), prices.key())

    def compute() -> pd.DataFrame:
        from planning.selectors.launches import lag1_development_hours

        planned = pd.DataFrame(
            [
                (code, pd.Period(m, freq="M"))
                for m in months
                if month_add(m, -1) in frozen
                for code in codes
            ],
            columns=["value_stream", "month"],
        )
        score = box_score.closed_box_score(
            actuals=read[read["month"].isin(pd.PeriodIndex(months, freq="M"))],
            master=prices.frame(),
            plan=lag1[lag1["measure"] != BASELINE_MEASURE],
            planned_months=planned,
            # launches of approved cycles are frozen: the key's frozen stamp covers them
            development_hours=lag1_development_hours(months=months, value_streams=streams),
        )
        # FVA from the same reads: the key's fingerprints cover them (the facts with the
        # naive forecast's sales months, the frozen plans with their baseline).
        return _with_fva(score, months=months, plan=lag1, facts=read)

    # a copy: the reused frame is shared, and the launch measure is added in place
    return _with_on_time_launch(_reuse(key, compute).copy(), months, streams)


FVA_MEASURES = ("fva_statistics", "fva_consensus")


def _with_fva(
    score: pd.DataFrame, *, months: list[dt.date], plan: pd.DataFrame, facts: pd.DataFrame
) -> pd.DataFrame:
    """The box score's ``fva_statistics`` and ``fva_consensus`` per stream and month (and
    company) from the one FVA implementation (``selectors.baseline.months_fva_from``, on
    the plan and facts the box score has read)."""
    from planning.selectors.baseline import months_fva_from

    if not len(score):
        return score
    monthly = months_fva_from(months=months, plan=plan, facts=facts).monthly
    fva = monthly[["value_stream", "month", *FVA_MEASURES]].copy()
    fva["month"] = pd.PeriodIndex(fva["month"], freq="M")
    fva["value_stream"] = fva["value_stream"].astype(str)
    out = score.drop(columns=[c for c in FVA_MEASURES if c in score.columns])
    out = out.merge(fva, how="left", on=["value_stream", "month"])
    for col in FVA_MEASURES:
        out[col] = out[col].astype("float64")
    return out[list(score.columns)]


def _with_on_time_launch(
    score: pd.DataFrame, months: list[dt.date], streams: list[ValueStream] | None
) -> pd.DataFrame:
    """The box score's ``on_time_launch`` on the NPD streams' and the company rows."""
    from planning.selectors.launches import on_time_launch_frame

    otl = on_time_launch_frame(months=months, value_streams=streams)
    otl = otl[otl["on_time_launch"].notna()]
    if not len(otl):
        return score
    lookup = {(vs, m): v for vs, m, v in otl.itertuples(index=False)}
    have = set(zip(score["value_stream"], score["month"], strict=True))
    # An NPD stream without facts that month still has its launches' box score.
    missing = pd.DataFrame(
        [(vs, m) for vs, m in lookup if (vs, m) not in have], columns=["value_stream", "month"]
    )
    if len(missing):
        score = pd.concat([score, missing], ignore_index=True)
        score = score.sort_values(["month", "value_stream"], kind="stable").reset_index(drop=True)
    score["on_time_launch"] = [
        lookup.get((vs, m), float("nan"))
        for vs, m in zip(score["value_stream"], score["month"], strict=True)
    ]
    return score


PRICE_COLUMNS = ["product_family", "unit_price", "unit_material_cost", "hours_per_unit"]


def cycle_master_prices(
    *, cycles: Iterable[int], value_streams: Iterable[ValueStream] | None = None
) -> pd.DataFrame:
    """cycle (pk), product_family, unit_price, unit_material_cost, hours_per_unit of the
    families in the plan of each of ``cycles``: their master copies, all in one query
    (the box score values up to 36 months at once). The same rows as
    :func:`planning.selectors.plans.cycle_master_frame` gives per cycle: a cycle without
    any copy (from before copies existed) reads the live master (one more query)."""
    from planning.models import CycleFamily
    from planning.selectors.plans import _raw_rows
    from valuestreams.models import ProductFamily

    cycle_ids = sorted(set(cycles))
    stream_ids = None if value_streams is None else [vs.pk for vs in value_streams]
    numbers = [Cast(col, FloatField()) for col in PRICE_COLUMNS[1:]]
    columns = ["cycle", *PRICE_COLUMNS]
    if not cycle_ids:
        return pd.DataFrame(columns=columns).astype({c: "float64" for c in PRICE_COLUMNS[1:]})
    copies = CycleFamily.objects.filter(cycle_id__in=cycle_ids)
    if stream_ids is not None:
        copies = copies.filter(value_stream_id__in=stream_ids)
    rows = _raw_rows(
        copies.order_by().values_list("cycle_id", "active", "product_family__code", *numbers)
    )
    seen = {r[0] for r in rows}
    head = ["cycle", "active", *PRICE_COLUMNS]
    parts = [pd.DataFrame([r for r in rows if r[1]], columns=head)]
    unseen = [c for c in cycle_ids if c not in seen]
    if unseen:  # filtered away, or no copy at all: only the latter reads the live master
        with_copy = set(
            CycleFamily.objects.filter(cycle_id__in=unseen).values_list("cycle_id", flat=True)
        )
        bare = [c for c in unseen if c not in with_copy]
        if bare:
            live = ProductFamily.objects.filter(active=True)
            if stream_ids is not None:
                live = live.filter(value_stream_id__in=stream_ids)
            master = _raw_rows(live.order_by().values_list("code", *numbers))
            parts.append(pd.DataFrame([(c, True, *r) for c in bare for r in master], columns=head))
    parts = [p for p in parts if len(p)] or parts[:1]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame = frame.drop(columns="active")
    frame["cycle"] = frame["cycle"].astype("int64")
    frame["product_family"] = frame["product_family"].astype(str)
    for col in PRICE_COLUMNS[1:]:
        frame[col] = frame[col].astype("float64")
    return frame


@dataclass(frozen=True, eq=False)
class _MonthPriceSources:
    """Where each month's prices come from: ``chosen`` month → cycle (its master copy,
    ``by_cycle``), and the months before any cycle, valued at the family master
    (``master``). Small: the per-month table is built only when a box score is."""

    chosen: dict[dt.date, int]
    by_cycle: pd.DataFrame | None
    without: list[dt.date]
    master: pd.DataFrame | None

    def key(self) -> tuple:
        """What the prices depend on, for a reuse key (digests of the frames read)."""
        from planning.selectors.plans import _frame_digest

        return (
            tuple(self.chosen.items()),
            None if self.by_cycle is None else _frame_digest(self.by_cycle),
            tuple(self.without),
            None if self.master is None else _frame_digest(self.master),
        )

    def frame(self) -> pd.DataFrame:
        """product_family, unit_price, unit_material_cost, hours_per_unit, month."""
        parts = []
        if self.chosen and self.by_cycle is not None:
            which = pd.DataFrame(
                {
                    "cycle": np.fromiter(
                        self.chosen.values(), dtype="int64", count=len(self.chosen)
                    ),
                    "month": pd.PeriodIndex(
                        [pd.Period(m, freq="M") for m in self.chosen], freq="M"
                    ),
                }
            )
            parts.append(
                which.merge(self.by_cycle, on="cycle", sort=False)[[*PRICE_COLUMNS, "month"]]
            )
        if self.master is not None:
            for m in self.without:
                parts.append(self.master.assign(month=pd.Period(m, freq="M")))
        if not parts:
            return pd.DataFrame(columns=PRICE_COLUMNS)
        return pd.concat(parts, ignore_index=True)


def _month_price_sources(
    months: list[dt.date], streams: list[ValueStream] | None
) -> _MonthPriceSources:
    """Each month's source of prices: cycle m's master copy, else the newest cycle
    before m, else the family master. At most five queries, whatever the number of
    months and cycles."""
    from planning.models import PlanningCycle
    from planning.selectors.plans import _raw_rows
    from valuestreams.models import ProductFamily

    cycles = (
        list(
            PlanningCycle.objects.filter(month__lte=max(months))
            .order_by("month")
            .values_list("pk", "month")
        )
        if months
        else []
    )
    chosen: dict[dt.date, int] = {}  # month → the cycle its prices come from
    without: list[dt.date] = []
    for m in months:
        before = [pk for pk, month in cycles if month <= m]
        if before:
            chosen[m] = before[-1]
        else:
            without.append(m)
    by_cycle = (
        cycle_master_prices(cycles=chosen.values(), value_streams=streams) if chosen else None
    )
    master = None
    if without:
        qs = ProductFamily.objects.all()
        if streams is not None:
            qs = qs.filter(value_stream__in=streams)
        rows = _raw_rows(
            qs.order_by().values_list(
                "code", *(Cast(col, FloatField()) for col in PRICE_COLUMNS[1:])
            )
        )
        master = pd.DataFrame(rows, columns=PRICE_COLUMNS)
        master["product_family"] = master["product_family"].astype(str)
        for col in PRICE_COLUMNS[1:]:
            master[col] = master[col].astype("float64")
    return _MonthPriceSources(chosen=chosen, by_cycle=by_cycle, without=without, master=master)


def _month_prices(months: list[dt.date], streams: list[ValueStream] | None) -> pd.DataFrame:
    """product_family, month, unit_price, unit_material_cost, hours_per_unit for each
    month: from cycle m's master copy, else the newest cycle before m, else the master.
    At most five queries, whatever the number of months and cycles."""
    return _month_price_sources(months, streams).frame()


# Measures of the closed-month block a family filter narrows (they add up over
# families); the others are the stream's (its facts, or ratios mixing them in).
CLOSED_FAMILY_MEASURES: frozenset[str] = frozenset(
    {
        "demand_wape",
        "demand_bias",
        "production_wape",
        "fva_statistics",
        "fva_consensus",
        "actual_revenue",
        "plan_revenue",
        "actual_material_cost",
        "plan_material_cost",
        "actual_production",
        "plan_production",
    }
)


def closed_month_block(
    *,
    month: dt.date,
    value_streams: Iterable[ValueStream] | None,
    trend_months: int = 12,
    family: ProductFamily | None = None,
    facts: tuple | None = None,
) -> dict:
    """What the "last closed month" block shows: per stream and company, the box score of
    ``month``; plan against actual (actual, plan, variance, %); the accuracy trend over
    the last ``trend_months`` closed months. With ``family``: its stream only, the
    measures of :data:`CLOSED_FAMILY_MEASURES` the family's, the others the stream's
    (``per_stream`` names them for the page).

    Reused while nothing it reads has changed (``selectors.stamps.facts_stamp``, one
    query: facts, approved cycles, master copies, streams, launches, currency); a
    planner's save in the open cycle leaves it as it is. A fresh dict each time: callers
    may replace its entries. ``facts``: the caller's facts stamp of this moment
    (``selectors.stamps.facts_of`` its review stamp), to spare the query."""
    from planning.selectors.stamps import facts_stamp, reuse_part

    streams = None if value_streams is None else list(value_streams)
    key = (
        "closed_month_block",
        facts_stamp() if facts is None else facts,
        month,
        trend_months,
        None if streams is None else tuple(vs.pk for vs in streams),
        None if family is None else (family.pk, family.code, family.value_stream.pk),
    )
    block = reuse_part(
        key,
        lambda: _closed_month_block(
            month=month, value_streams=streams, trend_months=trend_months, family=family
        ),
    )
    return {**block, "family": family}


def _closed_month_block(
    *,
    month: dt.date,
    value_streams: list[ValueStream] | None,
    trend_months: int,
    family: ProductFamily | None,
) -> dict:
    months = [month_add(month, -i) for i in range(trend_months - 1, -1, -1)]
    if family is not None:
        value_streams = [family.value_stream]
    score = closed_months_box_score(months=months, value_streams=value_streams)
    if family is not None and len(score):
        score = score[score["value_stream"] == family.value_stream.code].reset_index(drop=True)
        own = closed_months_box_score(
            months=months, value_streams=value_streams, family=family.code
        )
        own = own[own["value_stream"] == family.value_stream.code].set_index("month")
        for col in CLOSED_FAMILY_MEASURES & set(score.columns) & set(own.columns):
            score[col] = score["month"].map(own[col]).astype("float64")
    period = pd.Period(month, freq="M")
    now = score[score["month"] == period] if len(score) else score
    rows = {r["value_stream"]: r for r in now.to_dict("records")}
    from planning.box_score import PLAN_AGAINST_ACTUAL

    def clean(v):
        return None if v is None or (isinstance(v, float) and v != v) else v

    # Money rows carry the company's currency, hours theirs (production names its units).
    currency = company_currency()
    units = {"actual_productive_hours": "h", "actual_production": ""}
    blocks = []
    for code, r in sorted(rows.items(), key=lambda kv: (kv[0] == "", kv[0])):
        pva = []
        for label, a_col, p_col in PLAN_AGAINST_ACTUAL:
            a, p = clean(r.get(a_col)), clean(r.get(p_col))
            var = None if a is None or p is None else a - p
            pct = None if var is None or not p else var / p
            unit = units.get(a_col, currency)
            pva.append(
                {
                    "label": f"{label} ({unit})" if unit else label,
                    "per_stream": family is not None and a_col not in CLOSED_FAMILY_MEASURES,
                    "actual": a,
                    "plan": p,
                    "variance": var,
                    "pct": pct,
                }
            )
        blocks.append(
            {
                "code": code or "Company",
                "is_company": code == "",
                "m": {k: clean(v) for k, v in r.items()},
                "plan_against_actual": pva,
            }
        )
    trend = []
    if len(score):
        company = score[
            score["value_stream"] == ("" if family is None else family.value_stream.code)
        ]
        for r in company.to_dict("records"):
            trend.append(
                {
                    "month": str(r["month"]),
                    "demand_wape": clean(r["demand_wape"]),
                    "demand_bias": clean(r["demand_bias"]),
                    "production_wape": clean(r["production_wape"]),
                    "capacity_wape": clean(r["capacity_wape"]),
                }
            )
    return {
        "month": month,
        "blocks": blocks,
        "trend": trend,
        "has_data": bool(rows),
        "currency": currency,
        "family": family,
        # after each measure that stays the stream's under a family filter
        "stream_mark": "" if family is None else f" · {family.value_stream.code}",
        # The block as pages show it, kept with it (templatetags.dashboards.closed_month)
        "html": {},
    }


def box_score_export_rows(
    *, month: dt.date, value_streams: Iterable[ValueStream] | None = None
) -> pd.DataFrame:
    """The long rows ``export_box_score`` writes for one closed month: every stream the
    reader sees (those with facts or a plan) and the company."""
    from planning.box_score import EXPORT_MEASURES, box_score_long

    score = closed_months_box_score(months=[month], value_streams=value_streams)
    return box_score_long(score, EXPORT_MEASURES)


def refuse_open_month(month: dt.date) -> None:
    """A box score of facts is for a month that has ended."""
    from sofp.errors import ValidationFailed

    if month >= current_month():
        raise ValidationFailed.of_field(
            "month",
            f"{month:%Y-%m} has not closed yet; the last closed month is "
            f"{last_closed_month():%Y-%m}",
        )


def sofp_results_page(*, value_streams: Iterable[ValueStream] | None = None, limit: int = 36):
    """ "SOFP results": each closed month since the first approved cycle, facts (on-time
    delivery, actual material cost) beside the inventory value and cash flow of month m
    in the plan approved in m (it starts from the inventory on hand at the start of m;
    else the plan of m−1). Inventory is planned, not counted, in this app.
    Returns (rows, changes) from ``planning.box_score.sofp_results``."""
    import numpy as np

    from planning.box_score import sofp_results
    from planning.models import CycleStatus, PlanningCycle
    from planning.selectors.plans import cycle_projection

    first = PlanningCycle.objects.filter(status=CycleStatus.APPROVED).order_by("month").first()
    last = last_closed_month()
    if first is None or first.month > last:
        return [], []
    months: list[dt.date] = []
    m = first.month
    while m <= last:
        months.append(m)
        m = month_add(m, 1)
    months = months[-limit:]
    streams = None if value_streams is None else list(value_streams)
    score = closed_months_box_score(months=months, value_streams=streams)
    company = score[score["value_stream"] == ""].set_index("month") if len(score) else None
    frozen = {
        c.month: c
        for c in PlanningCycle.objects.filter(
            status=CycleStatus.APPROVED,
            month__in=[*months, *(month_add(x, -1) for x in months)],
        )
    }
    rows = []
    for month in months:
        period = pd.Period(month, freq="M")
        plan = frozen.get(month) or frozen.get(month_add(month, -1))
        inv = cash = np.nan
        if plan is not None:
            comp = cycle_projection(cycle=plan, value_streams=streams).company
            hit = comp[comp["month"] == period]
            if len(hit):
                inv = float(hit["inventory_value"].iloc[0])
                cash = float(hit["cash_flow"].iloc[0])
        fact = company.loc[period] if company is not None and period in company.index else None
        rows.append(
            {
                "month": period,
                "on_time_delivery": np.nan if fact is None else fact["on_time_delivery"],
                "actual_material_cost": np.nan if fact is None else fact["actual_material_cost"],
                "inventory_value": inv,
                "cash_flow": cash,
                "on_time_launch": np.nan if fact is None else fact["on_time_launch"],
            }
        )
    table, changes = sofp_results(pd.DataFrame(rows))

    def clean(v):
        return None if v != v else v

    out = [
        {k: (str(v) if k == "month" else clean(v)) for k, v in r.items()}
        for r in table.to_dict("records")
    ]
    return out, changes
