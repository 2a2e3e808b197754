"""What the value stream dashboard and the step-5 review show, in constant queries.

Reads through :func:`planning.selectors.plans.cycle_analysis` (one engine run for the
projection, the last approved plan, accuracy, changes and exceptions) and
:func:`planning.selectors.actuals.actual_sales_frame` (sales facts), adds the box score
(:func:`planning.engine.box_score`), shapes it with :mod:`planning.dashboards` and draws
it with :mod:`planning.charts`. Nothing here loops over the database per stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils.html import escape
from django.utils.safestring import mark_safe

from planning import charts, dashboards, engine
from planning.calendar import month_add, parse_month
from planning.measures import ACTUALS_HISTORY_MONTHS, MEASURE_LABELS, MEASURE_UNITS
from planning.models import Decision, ExceptionAcknowledgement, PlanningCycle
from planning.selectors.actuals import actual_sales_frame, current_month
from planning.selectors.approval import ApprovalOpenItems, approval_open_items
from planning.selectors.assumptions import exceptions_explained
from planning.selectors.baseline import cycle_fva
from planning.selectors.cycle_families import cycle_family_codes, cycle_stream_families
from planning.selectors.cycles import (
    APPROVAL_STEP,
    cycle_steps_open,
    user_can_approve,
    user_can_record_decisions,
)
from planning.selectors.plans import (
    CycleAnalysis,
    _reuse,
    _reuse_derived,
    _reuse_input,
    cycle_analysis,
    cycle_current,
    cycle_get_by_label,
)
from planning.selectors.stamps import facts_of, rest_of, reuse_part, review_stamp
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import user_reads_all_streams

T = TypeVar("T")


def cycle_from_query(label: str | None) -> PlanningCycle | None:
    """The cycle of ``?cycle=YYYY-MM``, or the current one when absent or unknown."""
    if label:
        found = cycle_get_by_label(label)
        if found is not None:
            return found
    return cycle_current()


def cycle_choices() -> list[str]:
    """Labels of every cycle, newest first (for the cycle picker; one query)."""
    return [
        f"{m:%Y-%m}"
        for m in PlanningCycle.objects.order_by("-month").values_list("month", flat=True)
    ]


@dataclass(frozen=True)
class MonthPick:
    """``?month=`` against a cycle's horizon: the review and the stream dashboard read
    it the same way (one rule)."""

    months: list[str]  # the horizon, YYYY-MM
    month_filter: str  # "" = every month of the horizon (headline figures: the first)
    month_problem: bool  # ?month= was given but is not a month of the horizon
    chosen: str

    @property
    def period(self) -> pd.Period:
        return pd.Period(self.chosen, "M")


def horizon_month_pick(cycle: PlanningCycle, month: str | None) -> MonthPick:
    months = [f"{m:%Y-%m}" for m in cycle.horizon_months()]
    picked = parse_month(month or "")
    month_filter = f"{picked:%Y-%m}" if picked and f"{picked:%Y-%m}" in months else ""
    return MonthPick(
        months=months,
        month_filter=month_filter,
        month_problem=bool(month) and not month_filter,
        chosen=month_filter or months[0],
    )


def at_month(frame: pd.DataFrame, pick: MonthPick) -> pd.DataFrame:
    """``frame``'s rows of the picked month when a month filter is on (its ``month``
    column may hold periods, dates or timestamps)."""
    if not pick.month_filter or not len(frame) or "month" not in frame:
        return frame
    return frame[frame["month"].astype(str).str[:7] == pick.month_filter].reset_index(drop=True)


def _headcounts(streams: Sequence[ValueStream]) -> dict[str, float | None]:
    return {vs.code: (None if vs.headcount is None else float(vs.headcount)) for vs in streams}


def _month_label(month: pd.Period) -> str:
    return month.strftime("%B %Y")


class _Kept:
    """A page reused whole under a stamp keeps what the view adds from its own inputs."""

    def kept(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, kept with this page: for what the view adds from the page's
        own inputs (the page is reused whole under a stamp of everything it reads, so
        what is kept with it is as fresh as the page). Not a field: the page's fields
        are what it shows."""
        memo = self.__dict__.setdefault("_kept", {})
        if name not in memo:
            memo[name] = compute()
        return memo[name]


@dataclass
class Figure:
    """A chart on a page: the DOM id and the figure's JSON (``charts.PlotFigure``)."""

    id: str
    figure: object
    css: str = ""

    @cached_property
    def json(self) -> str:
        """Written once: a page is reused whole under its stamp, and its figures are
        never changed once the page is built."""
        return self.figure.to_json()


@dataclass
class StreamDashboard(_Kept):
    cycle: PlanningCycle
    value_stream: ValueStream
    families: list[ProductFamily]
    family: ProductFamily | None
    analysis: CycleAnalysis
    has_previous: bool
    has_actuals: bool
    kpis: list[dict]
    exceptions: list[dict]
    exception_total: int
    month: MonthPick
    figures: dict[str, Figure] = field(default_factory=dict)


def stream_dashboard(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream,
    family_code: str | None = None,
    month: str | None = None,
) -> StreamDashboard:
    """Everything ``/value-streams/<code>/`` shows for one cycle (and optional family and
    month: a month narrows the headline numbers, every chart and the exceptions to it,
    as on the review). Reused whole while nothing it reads has changed (the review's
    stamp, ``selectors.stamps.review_stamp``: one query)."""
    stamp = review_stamp(cycle)
    facts = facts_of(stamp)
    key = ("stream_dashboard", stamp, value_stream.pk, family_code, month)
    dash = reuse_part(
        key,
        lambda: _stream_dashboard(
            cycle=cycle,
            value_stream=value_stream,
            family_code=family_code,
            month=month,
            facts=facts,
            stamp=stamp,
        ),
    )
    dash.kept("facts", lambda: facts)  # the closed-month block's key (same stamp)
    return dash


def _stream_dashboard(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream,
    family_code: str | None,
    month: str | None,
    facts: tuple | None = None,
    stamp: tuple | None = None,
) -> StreamDashboard:
    pick = horizon_month_pick(cycle, month)
    # The cycle's copy and the families read whole by the stamp's facts: a save leaves them.
    families = (
        cycle_stream_families(cycle=cycle, value_stream=value_stream)
        if stamp is None
        else _reuse_input(
            ("stream_families", rest_of(stamp), value_stream.pk),
            lambda: cycle_stream_families(cycle=cycle, value_stream=value_stream),
        )
    )
    family = next((f for f in families if f.code == family_code), None)
    fcode = family.code if family else None
    # A family filter narrows the analysis itself: KPIs, capacity, money and accuracy
    # are the family's too (its stream's hours and conversion cost stay the stream's).
    analysis = cycle_analysis(
        cycle=cycle, value_streams=[value_stream], family=fcode or "", facts=facts, stamp=stamp
    )
    # Sales facts from the actuals store, history and the horizon's started months alike
    # (kept under the facts' stamp: a save in the open plan leaves them).
    first = month_add(cycle.month, -ACTUALS_HISTORY_MONTHS)
    last = min(current_month(), month_add(cycle.month, cycle.horizon - 1))

    def sales() -> pd.DataFrame:
        return actual_sales_frame(
            value_streams=[value_stream], family=fcode or "", first=first, last=last
        )

    actuals = (
        sales()
        if facts is None
        else _reuse(("stream_sales", facts, value_stream.pk, fcode or "", first, last), sales)
    )
    heads = _headcounts([value_stream])
    box = _reuse_derived(
        "box_score",
        (analysis.projection, analysis.accuracy, None),
        tuple(heads.items()),
        lambda: engine.box_score(analysis.projection, analysis.accuracy, heads),
    )
    code = value_stream.code

    demand = at_month(
        dashboards.demand_series(analysis.projection, analysis.previous, actuals, family=fcode),
        pick,
    )
    supply = at_month(dashboards.supply_series(analysis.projection, box, code, family=fcode), pick)
    capacity = at_month(dashboards.capacity_series(analysis.projection, code), pick)
    financial = at_month(dashboards.financial_series(analysis.projection, code), pick)
    # Accuracy is measured on closed months, not planned: its trend stays whole (as the
    # review's FVA chart), whichever horizon month is picked.
    accuracy = dashboards.accuracy_series(analysis.accuracy.stream, code)
    scope = f" — {family.code}" if family else ""
    figures = {
        "demand": charts.demand_figure(demand, title=f"Demand: actual sales and forecast{scope}"),
        "accuracy": charts.accuracy_figure(
            accuracy, title="Forecast accuracy (lag 1): WAPE and bias"
        ),
        "production": charts.production_figure(supply, title=f"Production vs demand{scope}"),
        "inventory": charts.inventory_figure(
            supply, title=f"Ending inventory and days of supply{scope}"
        ),
        "capacity": charts.capacity_figure(capacity, title="Capacity: required vs available hours"),
        "capacity_split": charts.capacity_split_figure(capacity),
        "financial": charts.financial_figure(financial, title="Financial projection"),
    }
    if pick.month_filter:  # one month per series: points that show, a tick per month
        for key in ("demand", "production", "inventory", "capacity", "financial"):
            figures[key].update_traces(
                selector={"type": "scatter", "mode": "lines"}, mode="lines+markers"
            )
            figures[key].update_xaxes(dtick="M1")
    stream_exceptions = at_month(analysis.exceptions, pick)
    if fcode:
        stream_exceptions = stream_exceptions[stream_exceptions["product_family"].isin([fcode, ""])]
    first = at_month(box[box["value_stream"] == code], pick).head(1)
    kpis = _kpis(first, capacity, len(stream_exceptions), analysis.thresholds)
    return StreamDashboard(
        cycle=cycle,
        value_stream=value_stream,
        families=families,
        family=family,
        analysis=analysis,
        has_previous=analysis.previous is not None,
        has_actuals=bool(len(actuals)) or demand["actual"].notna().any(),
        kpis=kpis,
        exceptions=exceptions_explained(
            cycle=cycle,
            rows=dashboards.exception_rows(stream_exceptions, cycle.label, limit=15),
        ),
        exception_total=len(stream_exceptions),
        month=pick,
        figures={k: Figure(f"chart-{k}", v) for k, v in figures.items()},
    )


def _kpis(
    first: pd.DataFrame,
    capacity: pd.DataFrame,
    n_exceptions: int,
    thresholds: engine.Thresholds,
) -> list[dict]:
    """Headline numbers of the first horizon month."""
    if not len(first):
        return []
    r = first.iloc[0]
    num = engine.number_or_none
    util = num(capacity["utilization"].iloc[0]) if len(capacity) else None
    acc_month = dashboards.month_text(r["accuracy_month"])

    def kpi(column: str, *value: object) -> dict:
        """A headline number of a measure, from the box score unless ``value`` is given."""
        shown = value[0] if value else num(r[column])
        return {"label": MEASURE_LABELS[column], "value": shown, "kind": MEASURE_UNITS[column]}

    return [
        kpi("revenue"),
        kpi("value_stream_profit"),
        kpi("return_on_sales"),
        {**kpi("utilization", util), "warn": (util or 0) > thresholds.utilization_warn},
        kpi("days_of_supply"),
        {
            "label": f"WAPE {acc_month}" if acc_month else "WAPE",
            "value": num(r["wape"]),
            "kind": "pct",
        },
        {"label": "Exceptions", "value": n_exceptions, "kind": "int", "warn": n_exceptions > 0},
    ]


# --------------------------------------------------------------------------- review


@dataclass
class Approval:
    """What the approval panel shows (the rules: selectors.cycles, as the service asks)."""

    frozen: bool
    can_approve: bool
    steps_before: list  # the steps that must be done before the approval (1–4)
    open_steps: list[int]
    approved_by: str
    approved_at: dt.datetime | None
    override_reason: str
    note: str = ""
    open_items: ApprovalOpenItems | None = None


@dataclass
class ReviewPage(_Kept):
    cycle: PlanningCycle
    analysis: CycleAnalysis
    streams: list[ValueStream]
    company_view: bool
    months: list[str]
    month: str
    month_filter: str  # "" = every month of the horizon (the box score shows the first)
    month_problem: bool  # ?month= was not a month of the horizon
    family: ProductFamily | None
    family_options: str  # the family filter's <option>s, HTML
    month_label: str
    box_columns: list[tuple[str, str]]
    box_rows: list[dict]
    fva_rows: list[dict]
    exceptions: list[dict]
    exception_total: int
    exception_counts: dict[str, int]
    exception_groups: list[dict]
    exception_pages: ExceptionPages
    change_rows: list[dict]
    has_previous: bool
    has_actuals: bool
    steps: list
    approval: Approval
    decisions: list[Decision]
    can_record_decisions: bool
    owners: list
    figures: dict[str, Figure] = field(default_factory=dict)


EXCEPTIONS_PER_PAGE = 50


@dataclass
class ExceptionPages:
    """One page of the (filtered) exception list; every exception is on some page."""

    number: int
    count: int
    total: int  # after the kind/stream filter
    kind: str
    value_stream: str
    first: int  # 1-based position of the first row shown
    acknowledged: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count

    @property
    def last(self) -> int:
        return min(self.total, self.first + EXCEPTIONS_PER_PAGE - 1)


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and int(text) > 0 else 1


def exception_acks(cycle: PlanningCycle) -> dict[str, ExceptionAcknowledgement]:
    """Every acknowledgement of the cycle by key, with who acknowledged (one query)."""
    return {
        a.key: a
        for a in ExceptionAcknowledgement.objects.filter(cycle=cycle).select_related(
            "acknowledged_by"
        )
    }


def exception_acks_attach(
    cycle: PlanningCycle,
    rows: list[dict],
    acks: dict[str, ExceptionAcknowledgement] | None = None,
) -> dict[str, ExceptionAcknowledgement]:
    """Put each exception row's acknowledgement (or None) on it as ``ack``; returns every
    acknowledgement of the cycle by key (the count shows as "acknowledged"). ``acks``:
    :func:`exception_acks` of the cycle when the caller holds it."""
    if acks is None:
        acks = exception_acks(cycle)
    for row in rows:
        row["ack"] = acks.get(row["key"])
    return acks


def _exception_page(
    exceptions: pd.DataFrame,
    cycle: PlanningCycle,
    *,
    page: str | None,
    kind: str | None,
    value_stream: str | None,
    acks: dict[str, ExceptionAcknowledgement] | None = None,
) -> tuple[list[dict], ExceptionPages]:
    """Filter by kind and stream, cut one page, attach each row's acknowledgement."""
    kind = kind if kind in engine.KINDS else ""
    value_stream = value_stream or ""
    ex = exceptions
    if kind:
        ex = ex[ex["kind"] == kind]
    if value_stream:
        ex = ex[ex["value_stream"] == value_stream]
    total = len(ex)
    count = max(1, -(-total // EXCEPTIONS_PER_PAGE))
    number = min(_page_number(page), count)
    start = (number - 1) * EXCEPTIONS_PER_PAGE
    rows = dashboards.exception_rows(ex.iloc[start : start + EXCEPTIONS_PER_PAGE], cycle.label)
    acks = exception_acks_attach(cycle, rows, acks)
    exceptions_explained(cycle=cycle, rows=rows)  # demand changes an assumption covers
    pages = ExceptionPages(
        number=number,
        count=count,
        total=total,
        kind=kind,
        value_stream=value_stream,
        first=start + 1,
        acknowledged=len(acks),
    )
    return rows, pages


def _family_options(rows: Sequence[tuple[str, str, int]], chosen: str) -> str:
    """The family filter's ``<option>``s from ``cycle_family_codes`` (a thousand
    families: built here at once, not by the template loop, which cost a tenth of the
    page)."""
    # Each code escaped once, the options joined as text (format_html per option, with
    # its argument checks, cost more than the query).
    options = []
    for code, vs, _ in rows:
        text = escape(code)
        selected = " selected" if code == chosen else ""
        options.append(f'<option value="{text}"{selected}>{escape(vs)} · {text}</option>')
    return mark_safe("".join(options))  # every code escaped above


@dataclass(frozen=True)
class _ReviewInputs:
    """What the review reads besides the plan's values and what is computed from them."""

    planned: list[tuple[str, str, int]]  # cycle_family_codes of the streams shown
    family: ProductFamily | None  # the family filter's family, in the stream it is planned in
    steps: list
    decisions: list[Decision]
    owners: list
    stream_count: int  # every value stream (the approval's company-wide exceptions)
    acks: dict[str, ExceptionAcknowledgement]


def _review_inputs(
    *, cycle: PlanningCycle, streams: list[ValueStream], family: str | None, can_record: bool
) -> _ReviewInputs:
    # The families this cycle plans (its copy): a frozen cycle keeps its own, in the
    # streams they were planned in.
    planned = cycle_family_codes(cycle=cycle, value_streams=streams)
    match = next((row for row in planned if row[0] == family), None) if family else None
    family_obj = ProductFamily.objects.filter(code=match[0]).first() if match else None
    if family_obj is not None:
        # the stream the cycle plans it in
        family_obj.value_stream = next(vs for vs in streams if vs.pk == match[2])
    return _ReviewInputs(
        planned=planned,
        family=family_obj,
        steps=list(cycle.steps.order_by("number")),
        decisions=list(
            Decision.objects.filter(cycle=cycle)
            .select_related("owner", "step")
            .order_by("due_date", "pk")
        ),
        owners=(
            list(get_user_model().objects.filter(is_active=True).order_by("first_name", "username"))
            if can_record
            else []
        ),
        stream_count=ValueStream.objects.count(),
        acks=exception_acks(cycle),
    )


def review_page(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser,
    streams: Sequence[ValueStream],
    month: str | None = None,
    exception_page: str | None = None,
    exception_kind: str | None = None,
    exception_stream: str | None = None,
    family: str | None = None,
    company_view: bool | None = None,
) -> ReviewPage:
    """The step-5 board pack for the streams the user may see (company if they see all).

    Filters apply to every figure: ``family`` narrows the analysis itself to that family
    (its stream's column, no company roll-up); an explicit ``month`` narrows the box
    score, the charts, the exceptions and the changes to that month.

    Reused whole while nothing it reads has changed: the key holds
    ``selectors.stamps.review_stamp`` (one query over every table the page reads, and
    the company's day), the streams, the filters and what the user may do here.
    """
    streams = list(streams)
    if company_view is None:
        company_view = user_reads_all_streams(user)
    can_approve = user_can_approve(user, cycle)
    can_record = user_can_record_decisions(user, cycle)
    stamp = review_stamp(cycle)
    facts = facts_of(stamp)
    key = (
        "review_page",
        stamp,
        tuple(vs.pk for vs in streams),
        company_view,
        can_approve,
        can_record,
        month,
        exception_page,
        exception_kind,
        exception_stream,
        family,
    )
    page = reuse_part(
        key,
        lambda: _review_page(
            cycle=cycle,
            facts=facts,
            stamp=stamp,
            streams=streams,
            month=month,
            exception_page=exception_page,
            exception_kind=exception_kind,
            exception_stream=exception_stream,
            family=family,
            company_view=company_view,
            can_approve=can_approve,
            can_record=can_record,
        ),
    )
    page.kept("facts", lambda: facts)  # the closed-month block's key (same stamp)
    return page


def _review_page(
    *,
    cycle: PlanningCycle,
    facts: tuple | None = None,
    stamp: tuple | None = None,
    streams: list[ValueStream],
    month: str | None,
    exception_page: str | None,
    exception_kind: str | None,
    exception_stream: str | None,
    family: str | None,
    company_view: bool,
    can_approve: bool,
    can_record: bool,
) -> ReviewPage:
    # What reads none of the plan's values (the family filter, the steps, the
    # decisions, the owners, the acknowledgements): kept under the stamp without its
    # plan part, so a planner's save leaves it.
    inputs = (
        _review_inputs(cycle=cycle, streams=streams, family=family, can_record=can_record)
        if stamp is None
        else _reuse_input(
            ("review_inputs", rest_of(stamp), tuple(vs.pk for vs in streams), family, can_record),
            lambda: _review_inputs(
                cycle=cycle, streams=streams, family=family, can_record=can_record
            ),
        )
    )
    planned, family_obj = inputs.planned, inputs.family
    fcode = family_obj.code if family_obj else ""
    if family_obj is not None:
        streams = [vs for vs in streams if vs.pk == family_obj.value_stream.pk]
    company_view = company_view and not fcode
    analysis = cycle_analysis(
        cycle=cycle, value_streams=streams, family=fcode, facts=facts, stamp=stamp
    )
    heads = _headcounts(streams)
    # Of closed months only: kept under the facts' stamp (no read to know it holds).
    fva = (
        cycle_fva(cycle=cycle, value_streams=streams)
        if facts is None
        else _reuse(
            ("review_fva", facts, cycle.month, tuple(vs.pk for vs in streams)),
            lambda: cycle_fva(cycle=cycle, value_streams=streams),
        )
    )
    # Both box scores are reused with the projections, accuracy and FVA they come from.
    heads_key = tuple(heads.items())
    box = _reuse_derived(
        "box_score",
        (analysis.projection, analysis.accuracy, fva),
        heads_key,
        lambda: engine.box_score(analysis.projection, analysis.accuracy, heads, fva),
    )
    prev_box = (
        _reuse_derived(
            "box_score",
            (analysis.previous, analysis.accuracy, fva),
            heads_key,
            lambda: engine.box_score(analysis.previous, analysis.accuracy, heads, fva),
        )
        if analysis.previous is not None
        else None
    )
    pick = horizon_month_pick(cycle, month)
    months, month_filter, month_problem = pick.months, pick.month_filter, pick.month_problem
    chosen, period = pick.chosen, pick.period
    changes, exceptions = analysis.changes, analysis.exceptions
    profit = dashboards.profit_by_stream(analysis.projection)
    company = dashboards.company_series(analysis.projection) if company_view else None
    if month_filter:
        if len(changes):
            changes = changes[changes["month"] == period]
        if len(exceptions):
            exceptions = exceptions[exceptions["month"] == period]
        if len(profit):
            profit = profit[profit.index == period]
        if company is not None:
            company = company[company["month"] == period].reset_index(drop=True)

    # The company first: the board reads it before the streams (and it stays in view
    # when many streams make the table scroll).
    columns = [("", "Company")] if company_view else []
    columns += [(vs.code, vs.code) for vs in streams]
    box_rows = dashboards.box_table(box, prev_box, period, columns)
    summary = dashboards.change_summary(changes)
    at_month = dashboards.stream_month_frame(box, period)

    label = _month_label(period)
    figures = {
        "streams": charts.stream_box_figure(at_month, month_label=label),
        "capacity": charts.stream_capacity_figure(at_month, month_label=label),
        "changes": charts.changes_figure(summary),
        "profit": charts.profit_by_stream_figure(profit),
    }
    fva_code = "" if company_view else (streams[0].code if len(streams) == 1 else "")
    # Forecast value added is of closed months: a save in the open plan leaves it, its
    # table and its chart (with the chart's JSON) as they are — kept with it.
    fva_figure = _reuse_derived(
        "fva_figure",
        (fva,),
        (fva_code,),
        lambda: Figure(
            "chart-fva",
            charts.fva_figure(
                dashboards.fva_series(fva, fva_code),
                title="Forecast error by step (lag 1), "
                + ("company" if fva_code == "" else fva_code),
            ),
        ),
    )
    fva_rows = _reuse_derived(
        "fva_rows", (fva,), (tuple(columns),), lambda: dashboards.fva_rows(fva, columns)
    )
    if company is not None:
        figures["company"] = charts.company_figure(
            company,
            title="Company roll-up: profit after sustaining costs, and cash flow",
        )

    steps = inputs.steps
    open_steps = cycle_steps_open(cycle, steps=steps)
    approver = cycle.approved_by
    approval = Approval(
        frozen=cycle.is_frozen,
        can_approve=can_approve,
        steps_before=[s for s in steps if s.number < APPROVAL_STEP],
        open_steps=open_steps,
        approved_by=(approver.get_full_name() or approver.username) if approver else "",
        approved_at=cycle.approved_at,
        override_reason=cycle.approval_override_reason,
        note=cycle.approval_note,
        open_items=(
            approval_open_items(
                cycle=cycle,
                # The whole company's exceptions are the ones computed above when the
                # page covers every value stream (one analysis, not two).
                exceptions=(
                    analysis.exceptions
                    if company_view and len(streams) == inputs.stream_count
                    else None
                ),
            )
            if not cycle.is_frozen and can_approve
            else None
        ),
    )
    exception_list, exception_pages = _exception_page(
        exceptions,
        cycle,
        page=exception_page,
        kind=exception_kind,
        value_stream=exception_stream,
        acks=inputs.acks,
    )
    decisions = inputs.decisions
    owners = inputs.owners
    return ReviewPage(
        cycle=cycle,
        analysis=analysis,
        streams=streams,
        company_view=company_view,
        months=months,
        month=chosen,
        month_filter=month_filter,
        month_problem=month_problem,
        family=family_obj,
        family_options=_family_options(planned, fcode),
        month_label=label,
        box_columns=columns,
        box_rows=box_rows,
        fva_rows=fva_rows,
        exceptions=exception_list,
        exception_total=len(exceptions),
        exception_counts=dict(list(dashboards.exception_counts(exceptions).items())[:8]),
        exception_groups=dashboards.exception_groups(exceptions),
        exception_pages=exception_pages,
        change_rows=dashboards.change_rows(summary),
        has_previous=analysis.previous is not None,
        has_actuals=bool(len(analysis.accuracy.stream)),
        steps=steps,
        approval=approval,
        decisions=decisions,
        can_record_decisions=can_record,
        owners=owners,
        figures={
            **{k: Figure(f"chart-{k}", v) for k, v in figures.items()},
            "fva": fva_figure,
        },
    )


def stream_cards(*, cycle: PlanningCycle | None, streams: Sequence[ValueStream]) -> list[dict]:
    """One card per stream for ``/value-streams/``: headline numbers of the first month."""
    streams = list(streams)
    if cycle is None or not streams:
        return [{"stream": vs, "kpis": None} for vs in streams]
    analysis = cycle_analysis(cycle=cycle, value_streams=streams)
    box = engine.box_score(analysis.projection, analysis.accuracy, _headcounts(streams))
    first = box[(box["month"] == box["month"].min()) & (box["value_stream"] != "")]
    by_code = first.set_index("value_stream")
    counts = dashboards.exception_counts(analysis.exceptions)
    num = engine.number_or_none
    cards = []
    for vs in streams:
        kpis = None
        if vs.code in by_code.index:
            row = by_code.loc[vs.code]
            kpis = {
                "revenue": num(row["revenue"]),
                "profit": num(row["value_stream_profit"]),
                "productive": num(row["productive_share"]),
                "exceptions": counts.get(vs.code, 0),
            }
        cards.append({"stream": vs, "kpis": kpis})
    return cards
