"""Reading scenarios: finding one by name, who may create, delete and adopt, and the
comparison of the plan with chosen scenarios (box score, exceptions, charts).

A scenario's numbers come from the same selectors as the plan's, through the cycle seen
in the scenario (``PlanningCycle.in_scenario``): one engine, one set of formulas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import pandas as pd
from django.db.models import QuerySet

from planning.models import SCENARIO_NAME_PATTERN, PlanningCycle, Scenario
from planning.selectors.cycles import cycle_refuse_frozen
from sofp.errors import FrozenCycleError, NotFound, Problem, ValidationFailed
from valuestreams.models import Membership, ValueStream
from valuestreams.roles import AnyUser, user_is_executive

_NAME = re.compile(SCENARIO_NAME_PATTERN)
MAX_COMPARED = 3  # scenarios shown beside the plan at once
# Names the API's addresses use beside scenario names (``scenarios/compare/``).
RESERVED_NAMES = frozenset({"compare"})


def scenario_name_problem(name: object) -> Problem | None:
    """Why ``name`` is not a scenario name (None: it is one)."""
    if not isinstance(name, str) or not _NAME.match(name):
        return Problem(
            "bad_scenario_name",
            f"{name!r} is not a scenario name: 1 to 40 characters of lower-case letters, "
            "digits and hyphens, starting with a letter or digit (e.g. second-shift)",
            field="name",
        )
    if name in RESERVED_NAMES:
        return Problem(
            "reserved_scenario_name",
            f"{name!r} is reserved (the API's comparison address uses it); choose another name",
            field="name",
        )
    return None


def scenario_name_check(name: object) -> str:
    problem = scenario_name_problem(name)
    if problem is not None:
        raise ValidationFailed(problem.message, problems=[problem])
    return str(name)


def scenarios_of(cycle: PlanningCycle) -> QuerySet[Scenario]:
    return Scenario.objects.filter(cycle=cycle).select_related("created_by").order_by("name")


def scenario_get(*, cycle: PlanningCycle, name: str) -> Scenario:
    """The scenario ``name`` of ``cycle``, or a 404 naming the ones that exist."""
    problem = scenario_name_problem(name)
    if problem is not None:
        raise ValidationFailed(problem.message, problems=[problem])
    found = Scenario.objects.filter(cycle=cycle, name=name).select_related("cycle").first()
    if found is None:
        names = list(Scenario.objects.filter(cycle=cycle).values_list("name", flat=True))
        known = f" Its scenarios: {', '.join(names)}." if names else " It has no scenarios."
        raise NotFound(f"Cycle {cycle.label} has no scenario {name!r}.{known}")
    found.cycle = cycle
    return found


def cycle_with_scenario(*, cycle: PlanningCycle, name: str | None) -> PlanningCycle:
    """The cycle seen through scenario ``name`` (empty or None: the plan itself)."""
    if not name:
        return cycle
    return cycle.in_scenario(scenario_get(cycle=cycle, name=name))


def scenario_refuse_frozen(scenario: Scenario) -> None:
    """Approval freezes the cycle's scenarios with it (409 on every path)."""
    cycle_refuse_frozen(scenario.cycle, f"scenario {scenario.name!r}")
    if scenario.is_frozen:
        raise FrozenCycleError(
            f"Scenario {scenario.name!r} of cycle {scenario.cycle.label} is frozen; "
            "it cannot be changed."
        )


# --------------------------------------------------------------------------- rights


def user_manages_streams(user: AnyUser) -> set[int]:
    """The active streams ``user`` manages (value stream manager memberships)."""
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(
            user=user, role=Membership.Role.MANAGER, value_stream__active=True
        ).values_list("value_stream_id", flat=True)
    )


def user_can_create_scenario(user: AnyUser) -> bool:
    """Executives (and administrators) and value stream managers (SOFP.md's table)."""
    return user_is_executive(user) or bool(user_manages_streams(user))


def user_can_delete_scenario(user: AnyUser, scenario: Scenario) -> bool:
    """Executives, and whoever created it."""
    return user_is_executive(user) or (user.is_authenticated and scenario.created_by_id == user.pk)


@dataclass(frozen=True)
class AdoptRights:
    """What one user adopts from a scenario: everything (executives), or the cells of
    the streams they manage (value stream managers); ``streams`` None = every stream."""

    allowed: bool
    streams: frozenset[int] | None
    company: bool  # company-wide cells and the master copy's prices


def adopt_rights(user: AnyUser | None) -> AdoptRights:
    if user is None or user_is_executive(user):
        return AdoptRights(True, None, True)
    managed = user_manages_streams(user)
    return AdoptRights(bool(managed), frozenset(managed), False)


# --------------------------------------------------------------------------- compare


@dataclass
class ScenarioComparison:
    """The plan and chosen scenarios side by side: one column per plan/scenario."""

    cycle: PlanningCycle
    names: list[str]  # "" = the plan, then the scenarios in order
    box: pd.DataFrame  # measure rows × (name, value) and deltas against the plan
    exceptions: dict[str, dict[str, list[dict]]]  # name → {"removed": [...], "added": [...]}
    series: dict[str, pd.DataFrame]  # name → company (or stream) monthly frame


COMPARED_MEASURES: tuple[tuple[str, str, str], ...] = (
    # (measure in the engine's frame, label, unit)
    ("revenue", "Revenue", "money"),
    ("material_cost", "Material cost", "money"),
    ("conversion_cost", "Conversion cost", "money"),
    ("value_stream_profit", "Value stream profit", "money"),
    ("company_profit", "Company profit", "money"),
    ("cash_flow", "Cash flow", "money"),
    ("inventory_value", "Inventory value (end)", "money"),
    ("required_hours", "Required hours", "hours"),
    ("available_hours", "Available hours", "hours"),
    ("demand", "Demand", "qty"),
    ("production", "Production", "qty"),
)


def _exception_rows(frame: pd.DataFrame) -> dict[str, dict]:
    """Exceptions keyed by what they are about (kind, stream, family, month), so the
    same exception in two plans matches whatever its number (vectorised: a large plan
    has thousands)."""
    if frame.empty:
        return {}
    out = pd.DataFrame(
        {
            "kind": frame["kind"].astype(str),
            "value_stream": frame["value_stream"].astype(str),
            "product_family": frame["product_family"].fillna("").astype(str),
            "month": frame["month"].astype(str),
            "value": frame["value"].astype(float),
            "message": frame["message"].astype(str),
        }
    )
    keys = (
        out["kind"] + ":" + out["value_stream"] + ":" + out["product_family"] + ":" + out["month"]
    )
    # Records from plain lists (``to_dict(orient="records")`` boxed each cell: most of
    # the comparison's time after the reads); only the value can be missing (None).
    names = list(out.columns)
    columns = [out[c].tolist() for c in names]
    at = names.index("value")
    columns[at] = [None if v != v else v for v in columns[at]]
    records = [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
    return dict(zip(keys.tolist(), records, strict=True))


def _scenario_analysis(
    view: PlanningCycle, streams: list[ValueStream] | None
) -> tuple[object, pd.DataFrame]:
    """A plan's (or scenario's) projection and exceptions: only what the comparison
    shows (no accuracy, no change table), each reused while nothing it reads changed."""
    from planning import engine
    from planning.selectors.plans import (
        _projection,
        _reuse,
        company_thresholds,
        cycle_last_approved,
    )

    key, projection = _projection(view, streams)
    previous_cycle = cycle_last_approved(before=view.month)
    previous_key, previous = (
        _projection(previous_cycle, streams) if previous_cycle else (None, None)
    )
    thresholds = company_thresholds()
    found = _reuse(
        ("scenario-exceptions", key, previous_key, thresholds),
        lambda: engine.exceptions(projection, previous, thresholds),
    )
    return projection, found


def scenario_compare(
    *,
    cycle: PlanningCycle,
    names: Sequence[str],
    value_streams: Iterable[ValueStream] | None = None,
) -> ScenarioComparison:
    """Project the plan and each named scenario (the same engine, a constant number of
    queries each) and line them up: horizon totals per measure with deltas against the
    plan, the exceptions each scenario removes or adds, and the monthly series for
    overlaid charts. Unknown names are a 404, bad ones a 400."""
    streams = None if value_streams is None else list(value_streams)
    wanted = list(dict.fromkeys(n for n in names if n))[:MAX_COMPARED]
    scoped = [("", cycle)] + [(n, cycle_with_scenario(cycle=cycle, name=n)) for n in wanted]
    totals: dict[str, dict[str, float | None]] = {}
    exceptions: dict[str, dict] = {}
    series: dict[str, pd.DataFrame] = {}
    from planning.selectors.plans import _reuse_derived

    company = streams is None
    for name, view in scoped:
        projection, found = _scenario_analysis(view, streams)
        # Shaped once per reused projection and exception list (read-only from here on).
        monthly = _reuse_derived(
            "scenario-monthly",
            (projection,),
            (company,),
            partial(_monthly, projection, company=company),
        )
        series[name] = monthly
        totals[name] = _horizon_totals(monthly)
        exceptions[name] = _reuse_derived(
            "scenario-exception-rows", (found,), (), partial(_exception_rows, found)
        )
    plan_ex = exceptions[""]
    changed = {
        name: {
            "removed": [v for k, v in plan_ex.items() if k not in exceptions[name]],
            "added": [v for k, v in exceptions[name].items() if k not in plan_ex],
        }
        for name in wanted
    }
    rows = []
    for measure, label, unit in COMPARED_MEASURES:
        if measure not in totals[""]:
            continue
        row = {"measure": measure, "label": label, "unit": unit, "plan": totals[""][measure]}
        for name in wanted:
            value = totals[name].get(measure)
            row[name] = value
            base = totals[""][measure]
            row[f"{name} Δ"] = None if value is None or base is None else value - base
        rows.append(row)
    rows.append(
        {
            "measure": "exceptions",
            "label": "Exceptions",
            "unit": "count",
            "plan": float(len(plan_ex)),
            **{n: float(len(exceptions[n])) for n in wanted},
            **{f"{n} Δ": float(len(exceptions[n]) - len(plan_ex)) for n in wanted},
        }
    )
    return ScenarioComparison(
        cycle=cycle,
        names=["", *wanted],
        box=pd.DataFrame(rows),
        exceptions=changed,
        series=series,
    )


def _monthly(projection, *, company: bool) -> pd.DataFrame:
    """One row per month: the company's figures (or the streams' summed)."""
    stream = projection.stream
    sums = [
        c
        for c in (
            "revenue",
            "material_cost",
            "conversion_cost",
            "value_stream_profit",
            "inventory_value",
            "required_hours",
            "available_hours",
            "demand",
            "production",
        )
        if c in stream.columns
    ]
    by_month = stream.groupby("month", sort=True)[sums].sum(min_count=1)
    if company and projection.company is not None and len(projection.company):
        comp = projection.company.set_index("month")
        for c in ("company_profit", "cash_flow"):
            if c in comp.columns:
                by_month[c] = comp[c]
    return by_month.reset_index()


def _horizon_totals(monthly: pd.DataFrame) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for col in monthly.columns:
        if col == "month":
            continue
        values = monthly[col].dropna()
        if col == "inventory_value":
            out[col] = float(values.iloc[-1]) if len(values) else None
        else:
            out[col] = float(values.sum()) if len(values) else None
    return out


def compare_names(raw: Iterable[str]) -> list[str]:
    """Scenario names from a page's query (``?compare=a&compare=b`` or ``a,b``)."""
    names: list[str] = []
    for item in raw:
        names += [n.strip() for n in str(item).split(",") if n.strip()]
    return list(dict.fromkeys(names))[:MAX_COMPARED]


def scenario_compare_block(
    *,
    cycle: PlanningCycle,
    names: Sequence[str],
    value_streams: Iterable[ValueStream] | None,
    prefix: str = "cmp",
) -> dict:
    """The comparison shaped for a page (the review, step 3): rows with a value and a
    delta per scenario, the exceptions each removes or adds, and overlaid charts."""
    from planning import charts
    from planning.selectors.dashboards import Figure

    available = list(scenarios_of(cycle))
    block: dict = {"available": available, "chosen": [], "rows": [], "figures": []}
    wanted = [n for n in compare_names(names)]
    if not wanted:
        return block
    comparison = scenario_compare(cycle=cycle, names=wanted, value_streams=value_streams)
    chosen = comparison.names[1:]
    block["chosen"] = chosen
    block["scenarios"] = [s for s in available if s.name in chosen]
    for row in comparison.box.to_dict(orient="records"):
        kind = {"money": "money", "hours": "units", "qty": "units", "count": "int"}[row["unit"]]
        block["rows"].append(
            {
                "label": row["label"],
                "kind": kind,
                "plan": row["plan"],
                "cells": [{"value": row.get(n), "delta": row.get(f"{n} Δ")} for n in chosen],
            }
        )
    block["exceptions"] = [{"name": n, **comparison.exceptions[n]} for n in chosen]
    overlays = (
        (
            "value_stream_profit",
            "Value stream profit: plan and scenarios",
            "Amount per month",
            charts.MONEY,
        ),
        ("required_hours", "Required hours: plan and scenarios", "Hours per month", "%{y:,.0f} h"),
        ("inventory_value", "Inventory value: plan and scenarios", "Amount", charts.MONEY),
    )
    for measure, title, y_title, hover in overlays:
        figure = charts.scenario_overlay_figure(
            comparison.series, measure, title=title, y_title=y_title, hover=hover
        )
        block["figures"].append(Figure(f"{prefix}-{measure}", figure))
    return block
