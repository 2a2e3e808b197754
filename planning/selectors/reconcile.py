"""Step 3, the SOFP planning meeting: every value stream side by side, month by month.

Demand, production, required against available hours, utilization and shortages per
stream and month, all from one engine projection; the NPD streams with the streams they
serve; every number links to its cell in the grid (``planning.links.grid_cell_url``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from planning.engine import number_or_none
from planning.links import grid_cell_url
from planning.models import PlanningCycle
from planning.selectors.plans import company_thresholds, cycle_projection
from valuestreams.models import ProductFamily, ValueStream


@dataclass(frozen=True)
class StreamColumn:
    code: str
    name: str
    npd: bool
    serves: list[str]
    first_family: str


@dataclass(frozen=True)
class ReconcileCell:
    """One stream in one month."""

    demand: float | None
    production: float | None
    required_hours: float | None
    available_hours: float | None
    utilization: float | None
    level: str  # "", "warn" (above the warning threshold), "bad" (overloaded)
    shortages: list[str]  # families with negative ending inventory
    links: dict[str, str]


@dataclass(frozen=True)
class ReconcileRow:
    month: str
    cells: list[ReconcileCell]


@dataclass(frozen=True)
class ReconcilePage:
    streams: list[StreamColumn]
    rows: list[ReconcileRow]
    overloaded_months: int
    shortage_months: int


def _month(p: pd.Period) -> str:
    return f"{p.year:04d}-{p.month:02d}"


def reconcile_page(*, cycle: PlanningCycle, streams: Sequence[ValueStream]) -> ReconcilePage:
    """The side-by-side table for the streams the user reads (a constant number of
    queries: the projection's, the families', the NPD links')."""
    streams = list(streams)
    projection = cycle_projection(cycle=cycle, value_streams=streams)
    thresholds = company_thresholds()
    firsts: dict[int, str] = {}
    for vs_id, code in (
        ProductFamily.objects.filter(value_stream__in=streams, active=True)
        .order_by("value_stream_id", "code")
        .values_list("value_stream_id", "code")
    ):
        firsts.setdefault(vs_id, code)
    serves: dict[int, list[str]] = {}
    for vs_id, code in ValueStream.serves.through.objects.filter(
        from_valuestream__in=streams
    ).values_list("from_valuestream_id", "to_valuestream__code"):
        serves.setdefault(vs_id, []).append(code)
    columns = [
        StreamColumn(
            code=vs.code,
            name=vs.name,
            npd=vs.kind == ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT,
            serves=sorted(serves.get(vs.pk, [])),
            first_family=firsts.get(vs.pk, ""),
        )
        for vs in streams
    ]
    stream = projection.stream.set_index(["value_stream", "month"])
    fam = projection.family
    short = fam[fam["ending_inventory"] < 0]
    shortages: dict[tuple[str, pd.Period], list[str]] = {}
    for vs, pf, month in short[["value_stream", "product_family", "month"]].itertuples(index=False):
        shortages.setdefault((vs, month), []).append(pf)
    rows: list[ReconcileRow] = []
    overloaded = shortage_months = 0
    for month in pd.period_range(pd.Period(cycle.month, "M"), periods=cycle.horizon, freq="M"):
        m = _month(month)
        cells = []
        any_over = any_short = False
        for col in columns:
            key = (col.code, month)
            rec = stream.loc[key] if key in stream.index else None

            def get(name: str, rec=rec) -> float | None:
                return None if rec is None else number_or_none(rec[name])

            util = get("utilization")
            level = ""
            if util is not None and util > thresholds.utilization_over:
                level, any_over = "bad", True
            elif util is not None and util > thresholds.utilization_warn:
                level = "warn"
            short_fams = sorted(shortages.get(key, []))
            any_short = any_short or bool(short_fams)

            def link(measure: str, family: str = "", col=col, m=m) -> str:
                return grid_cell_url(cycle.label, col.code, family=family, month=m, measure=measure)

            cells.append(
                ReconcileCell(
                    demand=get("demand"),
                    production=get("production"),
                    required_hours=get("required_hours"),
                    available_hours=get("available_hours"),
                    utilization=util,
                    level=level,
                    shortages=short_fams,
                    links={
                        "demand": link("demand", col.first_family),
                        "production": link("production", col.first_family),
                        "required_hours": link("required_hours"),
                        "available_hours": link("available_hours"),
                        "utilization": link("utilization"),
                        "shortage": link("ending_inventory", short_fams[0]) if short_fams else "",
                    },
                )
            )
        overloaded += any_over
        shortage_months += any_short
        rows.append(ReconcileRow(month=m, cells=cells))
    return ReconcilePage(
        streams=columns, rows=rows, overloaded_months=overloaded, shortage_months=shortage_months
    )
