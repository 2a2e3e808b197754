"""Reading a cycle's assumption register: who may change what, lists and filters, which
cells an assumption covers, the exceptions it explains and the changes it is behind.

Rights follow SOFP.md's table: sales changes demand assumptions (of its streams, or of
every stream when assigned to none); planners and value stream managers the assumptions
of their streams; executives (and superusers) every one; everybody who reads a stream
reads its assumptions. Whether the cycle is frozen is asked separately (the services
refuse through ``cycle_refuse_frozen``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import Q, QuerySet

from planning.calendar import month_add
from planning.engine import _inner_join
from planning.links import grid_cell_url
from planning.measures import MEASURE_LABELS
from planning.models import (
    ASSUMPTION_FAMILY_MEASURES,
    ASSUMPTION_MEASURES,
    Assumption,
    AssumptionStatus,
    AuditEvent,
    PlanningCycle,
)
from planning.selectors.plans import CycleAnalysis, _reuse_derived, cycle_analysis, plan_rights
from sofp.prepared import PreparedQuery
from valuestreams.models import Membership, ProductFamily, ValueStream
from valuestreams.roles import AnyUser, CompanyRole, user_is_executive, user_roles
from valuestreams.selectors import value_streams_visible

# Open and confirmed assumptions explain a change; a retired one no longer does.
EXPLAINING = (AssumptionStatus.OPEN, AssumptionStatus.CONFIRMED)
ALL_MEASURES = frozenset(ASSUMPTION_MEASURES)
SALES_ASSUMPTION_MEASURES = frozenset({"demand"})
CSV_COLUMNS = (
    "id",
    "value_stream",
    "product_family",
    "measure",
    "first_month",
    "last_month",
    "text",
    "owner",
    "impact",
    "status",
    "version",
    "updated_by",
    "updated_at",
)


# --------------------------------------------------------------------------- rights


@dataclass(frozen=True, eq=False)
class AssumptionRights:
    """Which assumptions one user may create, change and delete (by stream and measure)."""

    per_stream: Mapping[int, frozenset[str]] = field(default_factory=dict)
    every_stream: frozenset[str] = frozenset()
    everything: bool = False

    def measures(self, *, value_stream_id: int) -> frozenset[str]:
        if self.everything:
            return ALL_MEASURES
        return self.every_stream | self.per_stream.get(value_stream_id, frozenset())

    def may_change(self, *, value_stream_id: int, measure: str | None = None) -> bool:
        measures = self.measures(value_stream_id=value_stream_id)
        return bool(measures) if measure is None else measure in measures

    @property
    def any(self) -> bool:
        return self.everything or bool(self.every_stream) or any(self.per_stream.values())


def assumption_rights(*, user: AnyUser | None) -> AssumptionRights:
    """The rights table for one user; ``user=None`` is a trusted system path."""
    if user is None:
        return AssumptionRights(everything=True)
    if not user.is_authenticated:
        return AssumptionRights()
    if user_is_executive(user):
        return AssumptionRights(everything=True)
    per_stream: dict[int, frozenset[str]] = {}
    members = Membership.objects.filter(user=user, value_stream__active=True).values_list(
        "value_stream_id", "role"
    )
    for stream_id, role in members:
        if role in (Membership.Role.PLANNER, Membership.Role.MANAGER):
            per_stream[stream_id] = ALL_MEASURES
    every: frozenset[str] = frozenset()
    if CompanyRole.SALES in user_roles(user):
        # Sales' demand: where the plan rights give it demand (its streams, or all).
        rights = plan_rights(user=user)
        if "demand" in rights.every_stream:
            every = SALES_ASSUMPTION_MEASURES
        for stream_id, measures in rights.per_stream.items():
            if "demand" in measures:
                per_stream[stream_id] = per_stream.get(stream_id, frozenset()) | {"demand"}
    return AssumptionRights(per_stream=per_stream, every_stream=every)


# --------------------------------------------------------------------------- lists


def assumptions_visible(*, cycle: PlanningCycle, user: AnyUser | None) -> QuerySet[Assumption]:
    """The cycle's assumptions of the streams ``user`` reads (None: all), register order."""
    qs = Assumption.objects.filter(cycle=cycle)
    if user is not None:
        qs = qs.filter(value_stream__in=value_streams_visible(user=user))
    return qs.select_related(
        "value_stream", "product_family", "owner", "updated_by", "cycle"
    ).order_by("value_stream__code", "measure", "first_month", "pk")


@dataclass(frozen=True)
class AssumptionFilters:
    """The register's filters (page, API, CSV); empty means "any"."""

    value_stream: str = ""
    product_family: str = ""
    measure: str = ""
    status: str = ""
    month: dt.date | None = None  # covers this month
    owner: str = ""
    text: str = ""


def assumption_filters(query: Mapping[str, str]) -> AssumptionFilters:
    """The filters of a query string (page, CSV, API); unknown values mean "any"."""
    from planning.calendar import parse_month

    measure = query.get("measure", "")
    status = query.get("status", "")
    return AssumptionFilters(
        value_stream=query.get("value_stream", "")[:40],
        product_family=query.get("product_family", "")[:40],
        measure=measure if measure in ASSUMPTION_MEASURES else "",
        status=status if status in AssumptionStatus.values else "",
        month=parse_month(query.get("month", "")),
        owner=query.get("owner", "")[:150],
        text=query.get("q", "")[:200],
    )


def assumptions_filtered(
    qs: QuerySet[Assumption], filters: AssumptionFilters
) -> QuerySet[Assumption]:
    """``qs`` narrowed by the filters. A family filter keeps the stream-wide ones too
    (they cover that family's cells)."""
    if filters.value_stream:
        qs = qs.filter(value_stream__code=filters.value_stream)
    if filters.product_family:
        qs = qs.filter(
            Q(product_family__code=filters.product_family) | Q(product_family__isnull=True),
            value_stream__families__code=filters.product_family,
        )
    if filters.measure:
        qs = qs.filter(measure=filters.measure)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.month:
        qs = qs.filter(first_month__lte=filters.month, last_month__gte=filters.month)
    if filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.text:
        qs = qs.filter(text__icontains=filters.text)
    return qs.distinct()


def assumption_dict(a: Assumption, *, rights: AssumptionRights | None = None) -> dict:
    """One assumption as plain data (JSON, the grid's side panel, the board pack)."""
    out = {
        "id": a.pk,
        "cycle": a.cycle.label,
        "value_stream": a.value_stream.code,
        "product_family": a.product_family.code if a.product_family_id else "",
        "measure": a.measure,
        "measure_label": MEASURE_LABELS.get(a.measure, a.measure),
        "first_month": f"{a.first_month:%Y-%m}",
        "last_month": f"{a.last_month:%Y-%m}",
        "text": a.text,
        "owner": a.owner.username if a.owner_id else "",
        "impact": a.impact,
        "status": a.status,
        "version": a.version,
        "updated_by": a.updated_by.username if a.updated_by_id else "",
        "updated_at": a.updated_at.isoformat() if a.updated_at else "",
    }
    stream_wide = a.measure in ASSUMPTION_FAMILY_MEASURES and not a.product_family_id
    out["grid_url"] = (
        f"/cycles/{a.cycle.label}/grid/{out['value_stream']}/"
        if stream_wide
        else grid_cell_url(
            a.cycle.label,
            out["value_stream"],
            measure=a.measure,
            family=out["product_family"],
            month="" if a.measure == "opening_inventory" else out["first_month"],
        )
    )
    if rights is not None:
        out["can_change"] = rights.may_change(value_stream_id=a.value_stream_id, measure=a.measure)
    return out


def assumption_csv_rows(assumptions: Iterable[Assumption]) -> list[list[str]]:
    """Header and rows of the register's CSV export (months ``YYYY-MM``)."""
    rows = [list(CSV_COLUMNS)]
    for a in assumptions:
        d = assumption_dict(a)
        rows.append([str(d[c]) for c in CSV_COLUMNS])
    return rows


def assumption_history(*, assumption: Assumption) -> list[AuditEvent]:
    """Who changed what of one assumption, newest first (kept after a delete too)."""
    return list(
        AuditEvent.objects.filter(object_type="assumption", object_id=assumption.pk)
        .select_related("user")
        .order_by("-at", "-pk")
    )


def assumptions_of_stream(
    *, cycle: PlanningCycle, value_stream: ValueStream, user: AnyUser
) -> dict:
    """The grid's side panel and markers: the stream's assumptions and what the user may
    create there (measures), in one answer."""
    rights = assumption_rights(user=user)
    qs = assumptions_visible(cycle=cycle, user=None).filter(value_stream=value_stream)
    return {
        "assumptions": [assumption_dict(a, rights=rights) for a in qs],
        "measures": sorted(rights.measures(value_stream_id=value_stream.pk))
        if not cycle.is_frozen
        else [],
        "statuses": [{"value": v, "label": label} for v, label in AssumptionStatus.choices],
        "first_month": f"{cycle.month:%Y-%m}",
        "last_month": f"{month_add(cycle.month, cycle.horizon - 1):%Y-%m}",
    }


# --------------------------------------------------------------------------- covering


def _covering_index(
    cycle: PlanningCycle, measures: Sequence[str], value_streams: Iterable[ValueStream] | None
) -> dict[tuple[str, str], list[Assumption]]:
    """(stream code, measure) → the explaining assumptions there (one query).

    The query's SQL is compiled once per process (``_CoveringQuery``): the instances are
    those ``select_related("value_stream", "product_family", "owner", "cycle")`` gives
    (the cycle: the caller's own), in ``first_month, pk`` order; the streams are picked
    from the rows instead of an ``IN`` list of changing length."""
    query = _COVERING.get(tuple(measures))
    if query is None:
        query = _COVERING.setdefault(tuple(measures), _CoveringQuery(tuple(measures)))
    wanted = None if value_streams is None else {vs.pk for vs in value_streams}
    index: dict[tuple[str, str], list[Assumption]] = {}
    for a in query.assumptions(cycle):
        if wanted is not None and a.value_stream_id not in wanted:
            continue
        index.setdefault((a.value_stream.code, a.measure), []).append(a)
    return index


class _CoveringQuery:
    """The explaining assumptions of a cycle in some measures, with their stream, family
    and owner, as ``select_related`` builds them, from SQL compiled once (PreparedQuery)."""

    _RELATED = ("value_stream", "product_family", "owner")

    def __init__(self, measures: tuple[str, ...]):
        self._names = [f.attname for f in Assumption._meta.concrete_fields]
        self._related = []
        columns = list(self._names)
        for name in self._RELATED:
            fk = Assumption._meta.get_field(name)
            model = fk.related_model
            names = [f.attname for f in model._meta.concrete_fields]
            self._related.append((fk, model, names, len(columns)))
            columns += [f"{name}__{n}" for n in names]
        self._query = PreparedQuery(
            lambda cycle_id: (
                Assumption.objects.filter(
                    cycle_id=cycle_id, measure__in=list(measures), status__in=EXPLAINING
                )
                .order_by("first_month", "pk")
                .values_list(*columns)
            ),
            convert=True,
            cycle_id=_CYCLE_ID,
        )

    def assumptions(self, cycle: PlanningCycle) -> list[Assumption]:
        out = []
        n = len(self._names)
        for row in self._query.rows(cycle_id=cycle.pk):
            a = Assumption.from_db("default", self._names, row[:n])
            for fk, model, names, at in self._related:
                values = row[at : at + len(names)]
                # An empty nullable key: select_related caches None, as here.
                related = None if values[0] is None else model.from_db("default", names, values)
                fk.set_cached_value(a, related)
            Assumption._meta.get_field("cycle").set_cached_value(a, cycle)
            out.append(a)
        return out


_COVERING: dict[tuple[str, ...], _CoveringQuery] = {}


def _covering(index, vs: str, measure: str, family: str, month: dt.date) -> list[Assumption]:
    return [a for a in index.get((vs, measure), ()) if a.covers(family=family, month=month)]


def exceptions_explained(*, cycle: PlanningCycle, rows: list[dict]) -> list[dict]:
    """Mark the "demand changed" exception rows an open or confirmed demand assumption
    covers: ``row["explained_by"]`` lists them (plain dicts); other rows get ``[]``."""
    for row in rows:
        row["explained_by"] = []
    wanted = [r for r in rows if r.get("kind") == "demand_change"]
    if not wanted:
        return rows
    index = _covering_index(cycle, ["demand"], None)
    for row in wanted:
        month = dt.date.fromisoformat(f"{row['month']}-01")
        found = _covering(index, row["value_stream"], "demand", row["product_family"], month)
        row["explained_by"] = [assumption_dict(a) for a in found]
    return rows


def explained_demand_cells(*, cycle: PlanningCycle) -> set[str]:
    """``stream:family:YYYY-MM`` of the demand cells an explaining assumption covers
    (the approval's "unexplained demand changes" leaves them out).

    Read with SQL compiled once per process (``PreparedQuery``: building the ORM's
    query cost more than running it, on every review after a save)."""
    cells: set[str] = set()
    families: dict[int, list[str]] = {}
    for vs, vs_id, family, first, last in _EXPLAINING_DEMAND.rows(cycle_id=cycle.pk):
        if family is not None:
            fams = [family]
        else:
            if vs_id not in families:
                families[vs_id] = [code for (code,) in _STREAM_FAMILIES.rows(stream_id=vs_id)]
            fams = families[vs_id]
        month = first
        while month <= last:
            cells.update(f"{vs}:{f}:{month:%Y-%m}" for f in fams)
            month = month_add(month, 1)
    return cells


# Placeholders no real row has (a run swaps the request's ids in).
_CYCLE_ID = -914_273
_STREAM_ID = -914_274
_EXPLAINING_DEMAND = PreparedQuery(
    lambda cycle_id: Assumption.objects.filter(
        cycle_id=cycle_id, measure="demand", status__in=EXPLAINING
    ).values_list(
        "value_stream__code", "value_stream_id", "product_family__code", "first_month", "last_month"
    ),
    convert=True,
    cycle_id=_CYCLE_ID,
)
# ``value_stream.families`` of a stream (the related manager's query, order aside: the
# cells are a set).
_STREAM_FAMILIES = PreparedQuery(
    lambda stream_id: (
        ProductFamily.objects.filter(value_stream_id=stream_id).order_by().values_list("code")
    ),
    stream_id=_STREAM_ID,
)


# --------------------------------------------------------------------------- review


CHANGE_MEASURES = ("demand", "production")


def _family_changes(analysis) -> pd.DataFrame:
    """Family demand and production against the last approved plan (months in both).

    Rows: every family-month in both plans, demand then production, left in the current
    plan's order, with a change; biggest change first (ties in that order). Built on the
    join's row positions (``engine._inner_join``): pandas' merge, concat and sort cost
    ~50-200 µs a call each on the demo's small frames. Where the join is not that cheap
    one (a repeated key, a code that is not a ``str``, a missing month), pandas does it.
    """
    keys = ["value_stream", "product_family", "month"]
    cur, prev = analysis.projection.family, analysis.previous.family
    rows = _inner_join(cur, prev, tuple(keys)) if _family_frames_plain(cur, prev) else None
    if rows is None:
        return _family_changes_pandas(analysis)
    left, right = rows
    # merge(how="inner") keeps the left frame's order (unique keys on both sides).
    order = np.argsort(left, kind="stable")
    left, right = left[order], right[order]
    n = len(left)
    current = np.concatenate([cur[m].to_numpy(dtype=float)[left] for m in CHANGE_MEASURES])
    previous = np.concatenate([prev[m].to_numpy(dtype=float)[right] for m in CHANGE_MEASURES])
    change = current - previous
    kept = np.flatnonzero(np.abs(change) > 0)
    if not len(kept):  # no change at all: pandas' empty frame (its index and dtypes)
        return _family_changes_pandas(analysis)
    # sort_values(ascending=False, kind="stable"): equal sizes keep their order.
    order = np.argsort(-np.abs(change[kept]), kind="stable")
    keep = kept[order]
    # The index the filter and the sort left on the concat's RangeIndex (pandas keeps a
    # RangeIndex where the rows it takes are one).
    index = pd.RangeIndex(len(change)).take(kept)
    if not (order == np.arange(len(order))).all():
        index = index.take(order)
    rows = np.tile(left, len(CHANGE_MEASURES))[keep]
    measures = np.repeat(np.array(CHANGE_MEASURES, dtype=object), n)
    return pd.DataFrame(
        {
            **{k: cur[k].array.take(rows) for k in keys},  # each key keeps its dtype
            "measure": measures[keep],
            "current": current[keep],
            "previous": previous[keep],
            "change": change[keep],
        },
        index=index,
    )


def _family_frames_plain(cur: pd.DataFrame, prev: pd.DataFrame) -> bool:
    """Both frames hold the change measures as float columns (the engine's frames)."""
    return all(frame[m].dtype == np.float64 for frame in (cur, prev) for m in CHANGE_MEASURES)


def _family_changes_pandas(analysis) -> pd.DataFrame:
    """:func:`_family_changes` through pandas' merge (the frames the array join leaves)."""
    keys = ["value_stream", "product_family", "month"]
    cur = analysis.projection.family.loc[:, [*keys, *CHANGE_MEASURES]]
    prev = analysis.previous.family.loc[:, [*keys, *CHANGE_MEASURES]]
    both = cur.merge(prev, on=keys, how="inner", suffixes=("_c", "_p"))
    parts = []
    for m in CHANGE_MEASURES:
        part = both[keys].copy()
        part["measure"] = m
        part["current"] = both[f"{m}_c"].astype(float)
        part["previous"] = both[f"{m}_p"].astype(float)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["change"] = out["current"] - out["previous"]
    out = out[out["change"].abs() > 0]
    return out.sort_values("change", key=lambda s: s.abs(), ascending=False, kind="stable")


def assumptions_behind_biggest_changes(
    cycle: PlanningCycle,
    limit: int = 10,
    *,
    value_streams: Iterable[ValueStream] | None = None,
    analysis: CycleAnalysis | None = None,
) -> list[dict]:
    """The assumptions behind the biggest changes against the last approved plan.

    Each family-month change of demand or production (in units) is matched with the open
    or confirmed assumptions covering its cell; each assumption is listed once, at its
    biggest change, biggest first, at most ``limit``. Plain dicts (the review and the
    board pack): the assumption's fields plus ``change`` = ``{month, previous, current,
    change, change_pct}``. Empty without a previous plan. ``analysis``: the caller's
    ``cycle_analysis`` of the same cycle and streams (no family filter), if it has it.
    """
    streams = None if value_streams is None else list(value_streams)
    index = _covering_index(cycle, CHANGE_MEASURES, streams) if limit > 0 else {}
    if not index:  # nothing to list: no projection needed
        return []
    if analysis is None:
        analysis = cycle_analysis(cycle=cycle, value_streams=streams)
    if analysis.previous is None:
        return []
    # The changes depend on the two projections only: kept with them.
    changes = _reuse_derived(
        "family_changes",
        (analysis.projection, analysis.previous),
        (),
        lambda: _family_changes(analysis),
    )
    # Each assumption at its biggest change: the first row (biggest first) it covers, as
    # a walk down the rows would meet it (ties: the order of the index's list).
    vs_col = changes["value_stream"].to_numpy()
    measure_col = changes["measure"].to_numpy()
    family_col = changes["product_family"].to_numpy()
    months = pd.PeriodIndex(changes["month"], freq="M")
    ordinal = months.asi8
    found: list[tuple[int, int, Assumption]] = []
    for (vs, measure), assumptions in index.items():
        here = (vs_col == vs) & (measure_col == measure)
        if not here.any():
            continue
        for order, a in enumerate(assumptions):
            first, last = _month_ordinal(a.first_month), _month_ordinal(a.last_month)
            covered = here & (ordinal >= first) & (ordinal <= last)
            if a.product_family_id:
                covered &= family_col == a.product_family.code
            hit = np.flatnonzero(covered)
            if len(hit):
                found.append((int(hit[0]), order, a))
    found.sort(key=lambda f: (f[0], f[1]))
    out: list[dict] = []
    found = found[:limit]
    if not found:
        return []
    # The listed rows' values as ``changes.iloc[row]`` gives them (NumPy floats and the
    # month's Period), read from the columns once instead of a row Series each.
    picked = np.array([row for row, _, _ in found])
    currents = changes["current"].to_numpy(dtype=float)[picked]
    previouses = changes["previous"].to_numpy(dtype=float)[picked]
    deltas = changes["change"].to_numpy(dtype=float)[picked]
    for i, (row, _, a) in enumerate(found):
        fam, month = family_col[row], months[row]
        cur, prev, change = currents[i], previouses[i], deltas[i]
        d = assumption_dict(a)
        d["change"] = {
            "product_family": fam,
            "month": f"{month.year:04d}-{month.month:02d}",
            "previous": prev,
            "current": cur,
            "change": change,
            "change_pct": (change / prev) if prev else None,
        }
        out.append(d)
    return out


def _month_ordinal(d: dt.date) -> int:
    """Months since 1970-01 (a monthly Period's ordinal)."""
    return (d.year - 1970) * 12 + d.month - 1
