"""Reading cycles and plans, shaped for screens, exports, the API and the engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import FloatField, Q, QuerySet
from django.db.models.functions import Cast

from planning import engine
from planning.calendar import month_add, parse_month
from planning.measures import (
    ACTUALS_HISTORY_MONTHS,
    COMPANY_INPUT_MEASURES,
    FAMILY_INPUT_MEASURES,
    STREAM_INPUT_MEASURES,
)
from planning.models import Company, CycleStatus, PlanningCycle, PlanValue, PlanValueChange
from valuestreams.models import Membership, ProductFamily, ValueStream
from valuestreams.roles import (
    AnyUser,
    CompanyRole,
    user_can_edit_company_values,
    user_reads_all_streams,
    user_roles,
)
from valuestreams.selectors import value_streams_visible


def cycle_get_by_label(label: str) -> PlanningCycle | None:
    month = parse_month(label)
    if month is None:
        return None
    return PlanningCycle.objects.filter(month=month).first()


def cycle_current() -> PlanningCycle | None:
    """The cycle being planned: the newest cycle that is not frozen, else the newest
    approved one. Home, the Plan menu, ``/review/`` and the dashboards start there, so
    after ``start_cycle`` everyone lands on the new cycle, never on a frozen one while
    a newer cycle is open."""
    return (
        PlanningCycle.objects.exclude(status=CycleStatus.APPROVED).order_by("-month").first()
        or PlanningCycle.objects.order_by("-month").first()
    )


def cycle_last_approved(*, before: dt.date) -> PlanningCycle | None:
    """The newest frozen cycle whose month is before ``before`` (the plan to compare with)."""
    return (
        PlanningCycle.objects.filter(status=CycleStatus.APPROVED, month__lt=before)
        .order_by("-month")
        .first()
    )


def cycles_list() -> QuerySet[PlanningCycle]:
    return PlanningCycle.objects.order_by("-month")


def _period(d: dt.date) -> pd.Period:
    return pd.Period(year=d.year, month=d.month, freq="M")


def _month_index(dates: Iterable[dt.date]) -> pd.PeriodIndex:
    """Monthly PeriodIndex of many dates, converting each distinct month once (fast)."""
    codes, uniques = pd.factorize(np.asarray(list(dates), dtype=object))
    ordinals = np.array([(d.year - 1970) * 12 + d.month - 1 for d in uniques], dtype=np.int64)
    return pd.PeriodIndex.from_ordinals(ordinals.take(codes) if len(codes) else ordinals, freq="M")


def master_frame(*, value_streams: Iterable[ValueStream] | None = None) -> pd.DataFrame:
    """Family master data in the engine's column contract (one query)."""
    qs = ProductFamily.objects.filter(active=True)
    if value_streams is not None:
        qs = qs.filter(value_stream__in=list(value_streams))
    rows = list(
        qs.order_by("value_stream__code", "code").values_list(
            "value_stream__code",
            "code",
            "unit_price",
            "unit_material_cost",
            "hours_per_unit",
            "dos_min",
            "dos_max",
        )
    )
    frame = pd.DataFrame(
        rows,
        columns=list(engine.MASTER_COLUMNS),
    )
    for col in ("unit_price", "unit_material_cost", "hours_per_unit", "dos_min", "dos_max"):
        frame[col] = frame[col].astype("float64")
    return frame.astype({"value_stream": str, "product_family": str})


def plan_values_frame(
    *,
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    include_company: bool = True,
) -> pd.DataFrame:
    """A cycle's stored input values, long, in the file contract's shape (one query)."""
    qs = PlanValue.objects.filter(cycle=cycle)
    if value_streams is not None:
        ids = [vs.pk for vs in value_streams]
        if include_company:
            qs = qs.filter(Q(value_stream_id__in=ids) | Q(value_stream__isnull=True))
        else:
            qs = qs.filter(value_stream_id__in=ids)
    # Values come as floats straight from the database (the engine computes in float64
    # anyway): building a Decimal per cell first made large plans several times slower.
    rows = list(
        qs.values_list(
            "value_stream__code",
            "product_family__code",
            "month",
            "measure",
            Cast("value", FloatField()),
        )
    )
    frame = pd.DataFrame(
        rows, columns=["value_stream", "product_family", "month", "measure", "value"]
    )
    frame["value_stream"] = frame["value_stream"].fillna("").astype(str)
    frame["product_family"] = frame["product_family"].fillna("").astype(str)
    frame["month"] = _month_index(frame["month"])
    frame["value"] = frame["value"].astype("float64")
    return frame


def stream_codes(*, value_streams: Iterable[ValueStream] | None = None) -> tuple[str, ...]:
    if value_streams is None:
        value_streams = ValueStream.objects.filter(active=True)
    return tuple(sorted(vs.code for vs in value_streams))


def plan_input(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> engine.PlanInput:
    """Everything the engine needs for one cycle, in a constant number of queries.

    ``value_streams=None`` means the whole company; otherwise only those streams (and
    the company-wide sustaining costs, which the company rows need).
    """
    streams = None if value_streams is None else list(value_streams)
    return engine.PlanInput(
        start=_period(cycle.month),
        horizon=cycle.horizon,
        master=master_frame(value_streams=streams),
        values=plan_values_frame(cycle=cycle, value_streams=streams),
        value_streams=stream_codes(value_streams=streams),
    )


def cycle_projection(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> engine.Projection:
    """The engine's projection of a cycle's plan (the numbers every screen shows)."""
    return engine.project(plan_input(cycle=cycle, value_streams=value_streams))


def company_thresholds() -> engine.Thresholds:
    company = Company.get()
    return engine.Thresholds(
        utilization_warn=float(company.utilization_warn),
        utilization_over=float(company.utilization_over),
        demand_change=float(company.demand_change_threshold),
    )


@dataclass(eq=False)
class CycleAnalysis:
    """Everything step 5 and the dashboards show for one cycle, from one engine."""

    cycle: PlanningCycle
    previous_cycle: PlanningCycle | None
    projection: engine.Projection
    previous: engine.Projection | None
    accuracy: engine.Accuracy
    changes: pd.DataFrame
    exceptions: pd.DataFrame
    thresholds: engine.Thresholds


def accuracy_inputs(
    *,
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    months_back: int = ACTUALS_HISTORY_MONTHS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lag-1 forecasts and actual sales for the months before ``cycle`` (two queries).

    The forecast for month m is the demand for m in the frozen plan of cycle m−1; the
    actual is the newest ``actual_sales`` value stored for m in any cycle.
    """
    first = month_add(cycle.month, -months_back)
    months = [month_add(first, i) for i in range(months_back)]
    lag1 = Q()
    for m in months:
        lag1 |= Q(cycle__month=month_add(m, -1), month=m)
    stream_filter = Q()
    if value_streams is not None:
        stream_filter = Q(value_stream__in=list(value_streams))
    forecast_rows = list(
        PlanValue.objects.filter(
            lag1,
            stream_filter,
            measure="demand",
            cycle__status=CycleStatus.APPROVED,
            # Redundant with lag1, but lets the (measure, month) index do the work.
            month__gte=first,
            month__lt=cycle.month,
        ).values_list("value_stream__code", "product_family__code", "month", "value")
    )
    actual_rows = list(
        PlanValue.objects.filter(
            stream_filter, measure="actual_sales", month__gte=first, month__lt=cycle.month
        )
        .order_by("cycle__month")
        .values_list("value_stream__code", "product_family__code", "month", "value")
    )
    cols = ["value_stream", "product_family", "month"]
    forecasts = pd.DataFrame(forecast_rows, columns=[*cols, "forecast"])
    actuals = pd.DataFrame(actual_rows, columns=[*cols, "actual"])
    # Newest cycle wins: rows are ordered by cycle month, keep the last per key.
    actuals = actuals.drop_duplicates(subset=cols, keep="last")
    for frame, col in ((forecasts, "forecast"), (actuals, "actual")):
        frame["month"] = _month_index(frame["month"])
        frame[col] = frame[col].astype("float64")
    return forecasts, actuals


def cycle_analysis(
    *, cycle: PlanningCycle, value_streams: Iterable[ValueStream] | None = None
) -> CycleAnalysis:
    """Projection, last approved plan, accuracy, changes and exceptions of a cycle.

    A constant number of queries whatever the number of streams and families.
    """
    streams = None if value_streams is None else list(value_streams)
    projection = cycle_projection(cycle=cycle, value_streams=streams)
    previous_cycle = cycle_last_approved(before=cycle.month)
    previous = (
        cycle_projection(cycle=previous_cycle, value_streams=streams) if previous_cycle else None
    )
    forecasts, actuals = accuracy_inputs(cycle=cycle, value_streams=streams)
    accuracy = engine.forecast_accuracy(forecasts, actuals)
    thresholds = company_thresholds()
    changes = (
        engine.plan_changes(projection, previous)
        if previous is not None
        else pd.DataFrame(columns=list(engine.PLAN_CHANGE_COLUMNS))
    )
    return CycleAnalysis(
        cycle=cycle,
        previous_cycle=previous_cycle,
        projection=projection,
        previous=previous,
        accuracy=accuracy,
        changes=changes,
        exceptions=engine.exceptions(projection, previous, thresholds),
        thresholds=thresholds,
    )


# --------------------------------------------------------------------------- rights


# Which plan inputs each role changes (SOFP.md, "Who changes what"). Planners and
# managers: every input of their streams except prices and costs; sales: demand and
# actual sales of its streams; finance: conversion cost of every stream and the
# company's sustaining cost. Prices and material costs live in the cycle's master copy.
PLANNER_MEASURES: frozenset[str] = frozenset(
    {
        "demand",
        "production",
        "actual_sales",
        "opening_inventory",
        "available_hours",
        "non_productive_hours",
    }
)
SALES_MEASURES: frozenset[str] = frozenset({"demand", "actual_sales"})
FINANCE_STREAM_MEASURES: frozenset[str] = frozenset({"conversion_cost"})
FINANCE_COMPANY_MEASURES: frozenset[str] = frozenset(COMPANY_INPUT_MEASURES)
STREAM_MEASURES: frozenset[str] = frozenset(FAMILY_INPUT_MEASURES + STREAM_INPUT_MEASURES)


@dataclass(frozen=True, eq=False)
class PlanRights:
    """What one user may change in a plan: the one answer to "may edit this
    stream/measure?" for the grid, files, the API, commands and templates.

    Whether the cycle is frozen is asked separately (``PlanningCycle.is_frozen``;
    services refuse through ``cycle_refuse_frozen``): that answer is the same for
    everyone.
    """

    # Measures the user changes in one stream (memberships), and in every stream.
    per_stream: Mapping[int, frozenset[str]] = field(default_factory=dict)
    every_stream: frozenset[str] = frozenset()
    company_measures: frozenset[str] = frozenset()
    everything: bool = False  # system paths: demo data, an operator's command

    def measures(self, *, value_stream_id: int | None) -> frozenset[str]:
        """The input measures the user changes in a stream (None: company-wide values)."""
        if self.everything:
            return FINANCE_COMPANY_MEASURES if value_stream_id is None else STREAM_MEASURES
        if value_stream_id is None:
            return self.company_measures
        return self.every_stream | self.per_stream.get(value_stream_id, frozenset())

    def may_edit(self, *, value_stream_id: int | None, measure: str | None = None) -> bool:
        """``value_stream_id=None`` means the company-wide values (sustaining costs);
        ``measure=None`` asks whether the user changes anything there."""
        measures = self.measures(value_stream_id=value_stream_id)
        return bool(measures) if measure is None else measure in measures

    @property
    def company(self) -> bool:
        return self.everything or bool(self.company_measures)

    @property
    def any(self) -> bool:
        return (
            self.everything
            or self.company
            or bool(self.every_stream)
            or any(self.per_stream.values())
        )


SYSTEM_RIGHTS = PlanRights(everything=True)


def plan_rights(*, user: AnyUser | None) -> PlanRights:
    """The rights table for one user (one query, plus the user's groups once);
    ``user=None`` is a trusted system path.

    Sales is "assigned to value streams" by memberships (any role); sales without a
    membership covers every stream, as the demo's ``sales`` does. Administrators
    change every input (master data and fixes), as before.
    """
    if user is None:
        return SYSTEM_RIGHTS
    if not user.is_authenticated:
        return PlanRights()
    if user.is_superuser:
        return PlanRights(every_stream=STREAM_MEASURES, company_measures=FINANCE_COMPANY_MEASURES)
    roles = user_roles(user)
    sales = CompanyRole.SALES in roles
    finance = CompanyRole.FINANCE in roles
    per_stream: dict[int, frozenset[str]] = {}
    memberships = Membership.objects.filter(user=user, value_stream__active=True).values_list(
        "value_stream_id", "role"
    )
    for stream_id, role in memberships:
        measures = per_stream.get(stream_id, frozenset())
        if role in (Membership.Role.PLANNER, Membership.Role.MANAGER):
            measures |= PLANNER_MEASURES
        if sales:
            measures |= SALES_MEASURES
        per_stream[stream_id] = measures
    every: frozenset[str] = frozenset()
    if sales and not per_stream:
        every |= SALES_MEASURES
    if finance:
        every |= FINANCE_STREAM_MEASURES
    return PlanRights(
        per_stream=per_stream,
        every_stream=every,
        company_measures=FINANCE_COMPANY_MEASURES if finance else frozenset(),
    )


def user_sees_company_plan(user: AnyUser) -> bool:
    """The company page and its roll-up: those who read every stream or enter
    company-wide values."""
    return user_reads_all_streams(user) or user_can_edit_company_values(user=user)


def user_can_edit_plan(
    *, user: AnyUser | None, value_stream: ValueStream | None, measure: str | None = None
) -> bool:
    """May ``user`` change the plan values of ``value_stream`` (None: company-wide)?"""
    return plan_rights(user=user).may_edit(
        value_stream_id=None if value_stream is None else value_stream.pk, measure=measure
    )


# --------------------------------------------------------------------------- per-user reads


def stream_scope(*, user) -> list[ValueStream] | None:
    """The streams a user's numbers cover: None = the whole company (users who read every
    stream, so company rows are theirs too), else the streams they may see."""

    if user_reads_all_streams(user):
        return None
    return list(value_streams_visible(user=user))


def plan_values_visible(*, cycle: PlanningCycle, user) -> QuerySet[PlanValue]:
    """A cycle's stored values the user may read, in file-contract order.

    Company rows (no value stream) only for users who read every stream.
    """

    visible = Q(value_stream__in=value_streams_visible(user=user))
    if user_reads_all_streams(user):
        visible |= Q(value_stream__isnull=True)
    return (
        PlanValue.objects.filter(visible, cycle=cycle)
        .select_related("value_stream", "product_family", "updated_by")
        .order_by("value_stream__code", "product_family__code", "month", "measure", "pk")
    )


def family_stream_codes(*, codes: Iterable[str]) -> dict[str, str]:
    """Family code → its value stream's code, for the families that exist (one query)."""
    return dict(
        ProductFamily.objects.filter(code__in=set(codes)).values_list("code", "value_stream__code")
    )


def stream_headcounts(*, value_streams: Iterable[ValueStream] | None = None) -> dict:
    qs = ValueStream.objects.filter(active=True)
    if value_streams is not None:
        qs = qs.filter(pk__in=[vs.pk for vs in value_streams])
    return dict(qs.values_list("code", "headcount"))


def cycle_box_score(*, analysis: CycleAnalysis, headcount: dict | None = None) -> pd.DataFrame:
    """The engine's box score per value stream and month, then the company (``""``)."""
    return engine.box_score(analysis.projection, analysis.accuracy, headcount)


def cycle_for_api(label: str) -> PlanningCycle | None:
    """A cycle with its steps, their participants and its decisions prefetched."""
    month = parse_month(label)
    if month is None:
        return None
    return (
        PlanningCycle.objects.filter(month=month)
        .select_related("approved_by")
        .prefetch_related("steps__participants", "decisions__owner", "decisions__step")
        .first()
    )


def cycle_export_frame(*, cycle: PlanningCycle, user=None) -> pd.DataFrame:
    """The cycle's long export (inputs and computed measures) as ``user`` may see it.

    ``user=None`` (an operator's command) and company-wide readers get every value
    stream and the company rows; anyone else gets only their visible streams, without
    the company rows (those sum up every stream).
    """

    if user is None or user_reads_all_streams(user):
        return engine.export_frame(cycle_projection(cycle=cycle))
    streams = list(value_streams_visible(user=user))
    frame = engine.export_frame(cycle_projection(cycle=cycle, value_streams=streams))
    return frame[frame["value_stream"] != ""].reset_index(drop=True)


def plan_changes_recent(*, cycle: PlanningCycle, user, limit: int = 25) -> list[dict]:
    """The newest changes to a cycle's plan values the user may read, each with a deep
    link to its cell in the grid (two queries)."""
    from planning.links import grid_cell_url
    from planning.measures import MEASURE_LABELS

    visible = Q(value_stream__in=value_streams_visible(user=user))
    if user_reads_all_streams(user):
        visible |= Q(value_stream__isnull=True)
    changes = (
        PlanValueChange.objects.filter(visible, cycle=cycle)
        .select_related("value_stream", "product_family", "changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )
    rows = []
    for ch in changes:
        vs = ch.value_stream.code if ch.value_stream else ""
        fam = ch.product_family.code if ch.product_family else ""
        month = f"{ch.month:%Y-%m}"
        rows.append(
            {
                "at": ch.changed_at,
                "by": ch.changed_by.username if ch.changed_by else "system",
                "where": " · ".join(x for x in (vs or "Company", fam) if x),
                "measure": MEASURE_LABELS.get(ch.measure, ch.measure),
                "month": month,
                "old": ch.old_value,
                "new": ch.new_value,
                "source": ch.get_source_display(),
                "url": grid_cell_url(
                    cycle.label,
                    vs,
                    family=fam,
                    month="" if ch.measure == "opening_inventory" else month,
                    measure=ch.measure,
                ),
            }
        )
    return rows
