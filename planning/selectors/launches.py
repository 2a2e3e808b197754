"""Reading NPD launches (SOFP.md "NPD launches"): who reads and changes them, a cycle's
launches as rows, dicts and engine frames, the launch record across cycles, the ramp
beside a family's demand and on-time launch.

A launch is held per cycle (``Launch``); its identity across cycles is its new family.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from django.db.models import Q, QuerySet

from planning import engine
from planning.calendar import month_add
from planning.models import CycleStatus, Launch, LaunchStatus, PlanningCycle
from valuestreams.models import Membership, ValueStream
from valuestreams.roles import AnyUser, user_is_executive
from valuestreams.selectors import value_streams_visible

# The engine's launch columns, and the actual month the record keeps beside them.
LAUNCH_FRAME_COLUMNS = (*engine.LAUNCH_COLUMNS, "actual_month")
# The stored columns behind LAUNCH_FRAME_COLUMNS, in that order.
_LAUNCH_ROW = (
    "npd_stream__code",
    "receiving_stream__code",
    "product_family__code",
    "status",
    "planned_month",
    "committed_month",
    "actual_month",
)


def _frame_row(
    npd: str,
    receiving: str,
    family: str,
    status: str,
    planned: dt.date,
    committed: dt.date | None,
    actual: dt.date | None,
) -> tuple:
    """A stored launch (``_LAUNCH_ROW``) as a row of the launches frame (months as
    periods)."""
    return (
        npd,
        receiving,
        family,
        status,
        pd.Period(planned, "M"),
        None if committed is None else pd.Period(committed, "M"),
        None if actual is None else pd.Period(actual, "M"),
    )


# --------------------------------------------------------------------------- rights


def user_can_edit_launches(*, user: AnyUser, npd_stream: ValueStream) -> bool:
    """Managers of the NPD stream and executives (admins count as executives)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user_is_executive(user):
        return True
    return Membership.objects.filter(
        user=user, value_stream=npd_stream, role=Membership.Role.MANAGER
    ).exists()


def npd_streams_editable(*, user: AnyUser) -> QuerySet[ValueStream]:
    """The NPD streams whose launches the user changes."""
    qs = ValueStream.objects.filter(kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT, active=True)
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user_is_executive(user):
        return qs.order_by("code")
    return qs.filter(memberships__user=user, memberships__role=Membership.Role.MANAGER).order_by(
        "code"
    )


def user_can_read_launch(*, user: AnyUser, launch: Launch) -> bool:
    """Everyone who reads the NPD stream reads its launches."""
    return value_streams_visible(user=user).filter(pk=launch.npd_stream_id).exists()


def launches_visible(*, user: AnyUser, cycle: PlanningCycle) -> QuerySet[Launch]:
    """The cycle's launches of the NPD streams the user reads."""
    return (
        Launch.objects.filter(cycle=cycle, npd_stream__in=value_streams_visible(user=user))
        .select_related("cycle", "product_family", "npd_stream", "receiving_stream", "updated_by")
        .order_by("planned_month", "product_family__code")
    )


# --------------------------------------------------------------------------- shapes


def _month_text(d: dt.date | None) -> str | None:
    return None if d is None else f"{d:%Y-%m}"


def ramp_by_month(launch: Launch) -> dict[dt.date, float]:
    """The ramp as {month: units} for the months from launch (SOFP.md): from the actual
    launch month once launched, from the planned one until then."""
    start = launch.planned_month
    if launch.status == LaunchStatus.LAUNCHED and launch.actual_month:
        start = launch.actual_month
    out: dict[dt.date, float] = {}
    for i, units in enumerate(launch.ramp or []):
        out[month_add(start, i)] = float(units)
    return out


def launch_dict(launch: Launch) -> dict:
    """One launch, JSON-ready (the API, the board pack, the page)."""
    return {
        "id": launch.pk,
        "cycle": launch.cycle.label,
        "product_family": launch.product_family.code,
        "family_name": launch.product_family.name,
        "npd_stream": launch.npd_stream.code,
        "receiving_stream": launch.receiving_stream.code,
        "status": launch.status,
        "planned_month": _month_text(launch.planned_month),
        "committed_month": _month_text(launch.committed_month),
        "actual_month": _month_text(launch.actual_month),
        "months_late": launch_months_late(launch),
        "ramp": [float(x) for x in launch.ramp or []],
        "development_hours": {
            k: float(v) for k, v in sorted((launch.development_hours or {}).items())
        },
        "note": launch.note,
        "version": launch.version,
        "updated_by": getattr(launch.updated_by, "username", None),
        "updated_at": launch.updated_at.isoformat() if launch.updated_at else None,
    }


def launch_months_late(launch: Launch) -> int:
    """How many months the planned (or actual) launch lies after the committed month."""
    if launch.committed_month is None or launch.status == LaunchStatus.CANCELLED:
        return 0
    when = launch.actual_month or launch.planned_month
    c, w = launch.committed_month, when
    return max(0, (w.year - c.year) * 12 + (w.month - c.month))


def launches_for_cycle(cycle: PlanningCycle) -> list[dict]:
    """Every launch the cycle holds, as dicts (the board pack's selector)."""
    qs = (
        Launch.objects.filter(cycle=cycle)
        .select_related("cycle", "product_family", "npd_stream", "receiving_stream", "updated_by")
        .order_by("planned_month", "product_family__code")
    )
    return [launch_dict(launch) for launch in qs]


# --------------------------------------------------------------------------- engine frames


def cycle_launch_rows(cycle: PlanningCycle) -> list[tuple]:
    """The cycle's launches as the engine frames read them (one query)."""
    return _cycle_launch_rows(cycle)


def launch_rows_digest(rows: list[tuple]) -> str:
    """A digest of ``cycle_launch_rows`` (the projection's reuse key: any launch write
    moves a version, so the digest changes)."""
    import hashlib

    return hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()


_LAUNCH_ROW_FIELDS = (*_LAUNCH_ROW, "development_hours", "version")


def _cycle_launch_rows(cycle: PlanningCycle) -> list[tuple]:
    return list(
        Launch.objects.filter(cycle=cycle)
        .order_by("product_family__code")
        .values_list(*_LAUNCH_ROW_FIELDS)
    )


def lag1_development_hours(
    *, months: Iterable[dt.date], value_streams: Iterable[ValueStream] | None = None
) -> pd.DataFrame:
    """``value_stream, month, hours``: for each month m, the development hours the
    approved (frozen) plan of cycle m−1 holds for m — the part of its NPD streams'
    required hours that is project work (the box score's capacity forecast, SOFP.md
    "Actuals" and "NPD launches"). Which hours count is :func:`cycle_launch_frames`'
    rule; one query for all months."""
    months = sorted(set(months))
    cols = ["value_stream", "month", "hours"]
    if not months:
        return pd.DataFrame(columns=cols)
    codes = None if value_streams is None else {vs.code for vs in value_streams}
    rows = (
        Launch.objects.filter(
            cycle__status=CycleStatus.APPROVED,
            cycle__month__in=[month_add(m, -1) for m in months],
        )
        .order_by("cycle__month", "product_family__code")
        .values_list("cycle__month", *_LAUNCH_ROW_FIELDS)
    )
    by_cycle: dict[dt.date, list[tuple]] = {}
    for cycle_month, *row in rows:
        if codes is None or row[0] in codes:
            by_cycle.setdefault(cycle_month, []).append(tuple(row))
    frames = []
    for cycle_month, cycle_rows in by_cycle.items():
        hours = development_hours_frame(cycle_rows)
        frames.append(hours[hours["month"] == pd.Period(month_add(cycle_month, 1), "M")])
    if not frames:
        return pd.DataFrame(columns=cols)
    return (
        pd.concat(frames, ignore_index=True)
        .groupby(["value_stream", "month"], as_index=False, sort=True)["hours"]
        .sum()
    )


def cycle_launch_frames(
    cycle: PlanningCycle,
    value_streams: Iterable[ValueStream] | None = None,
    rows: list[tuple] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(launches, development hours) of a cycle as the engine reads them (one query).

    Development hours count for launches in the plan: planned ones, and launched ones
    for the months before they launched; cancelled launches have left the plan.
    ``value_streams`` keeps the hours of those NPD streams only.
    """
    if rows is None:
        rows = _cycle_launch_rows(cycle)
    launches = [
        _frame_row(npd, recv, fam, status, planned, committed, actual)
        for npd, recv, fam, status, planned, committed, actual, _dev, _v in rows
    ]
    lf = pd.DataFrame(launches, columns=list(LAUNCH_FRAME_COLUMNS))
    return lf, development_hours_frame(rows, value_streams)


def development_hours_frame(
    rows: list[tuple], value_streams: Iterable[ValueStream] | None = None
) -> pd.DataFrame:
    """The development hours of ``cycle_launch_frames`` (its second frame) from the same
    launch rows, without building the launches' frame (the grid reads the hours only)."""
    codes = None if value_streams is None else {vs.code for vs in value_streams}
    hours = []
    for npd, _recv, _fam, status, _planned, _committed, actual, dev, _v in rows:
        if status == LaunchStatus.CANCELLED or (codes is not None and npd not in codes):
            continue
        stop = actual if status == LaunchStatus.LAUNCHED else None
        for month_text, h in (dev or {}).items():
            month = pd.Period(month_text, "M")
            if stop is not None and month >= pd.Period(stop, "M"):
                continue
            hours.append((npd, month, float(h)))
    if not hours:
        # The frame ``pd.DataFrame([], columns=...)`` gives (object columns, an empty
        # range index), built from empty columns: inferring them from no rows cost
        # several times as much, on every grid save of a stream without development.
        return pd.DataFrame({c: np.empty(0, dtype=object) for c in _HOURS_COLUMNS}, copy=False)
    return pd.DataFrame(hours, columns=_HOURS_COLUMNS)


_HOURS_COLUMNS = ["value_stream", "month", "hours"]


# --------------------------------------------------------------------------- demand view


def ramp_rows(*, cycle: PlanningCycle, value_stream: ValueStream) -> dict[str, Launch]:
    """The launches in the plan whose new family is in ``value_stream``: {family: launch}."""
    qs = (
        Launch.objects.filter(cycle=cycle, receiving_stream=value_stream)
        .exclude(status=LaunchStatus.CANCELLED)
        .select_related("product_family", "npd_stream")
    )
    return {launch.product_family.code: launch for launch in qs}


# --------------------------------------------------------------------------- the record


def launch_record(*, npd_streams: Iterable[ValueStream] | None = None) -> pd.DataFrame:
    """Every launch ever held, each as its newest cycle holds it (the register): the
    columns of ``cycle_launch_frames``' launches. Committed month comes from the first
    approved cycle that held it (carried on every later row; filled here if the newest
    row predates an approval)."""
    qs = Launch.objects.all()
    if npd_streams is not None:
        qs = qs.filter(npd_stream__in=list(npd_streams))
    rows = list(
        qs.order_by("product_family_id", "-cycle__month").values_list(
            "product_family_id", *_LAUNCH_ROW
        )
    )
    first_committed: dict[int, dt.date] = {}
    for fam_id, planned in (
        Launch.objects.filter(cycle__status=CycleStatus.APPROVED)
        .order_by("product_family_id", "cycle__month")
        .values_list("product_family_id", "planned_month")
    ):
        first_committed.setdefault(fam_id, planned)
    seen: set[int] = set()
    out = []
    for fam_id, npd, recv, code, status, planned, committed, actual in rows:
        if fam_id in seen:
            continue
        seen.add(fam_id)
        committed = committed or first_committed.get(fam_id)
        out.append(_frame_row(npd, recv, code, status, planned, committed, actual))
    return pd.DataFrame(out, columns=list(LAUNCH_FRAME_COLUMNS))


def on_time_launch_frame(
    *, months: Iterable[dt.date], value_streams: Iterable[ValueStream] | None = None
) -> pd.DataFrame:
    """value_stream (NPD stream, "" for the company), month, on_time_launch for each
    closed month (``planning.box_score.on_time_launch``)."""
    from planning.box_score import on_time_launch

    streams = None if value_streams is None else list(value_streams)
    record = launch_record(npd_streams=streams)
    return on_time_launch(record, [pd.Period(m, "M") for m in months])


def launches_any(*, cycle: PlanningCycle) -> bool:
    return Launch.objects.filter(cycle=cycle).exists()


def family_launch(*, cycle: PlanningCycle, family_code: str) -> Launch | None:
    return (
        Launch.objects.filter(cycle=cycle, product_family__code=family_code)
        .select_related("product_family", "npd_stream", "receiving_stream")
        .first()
    )


def npd_streams() -> QuerySet[ValueStream]:
    return ValueStream.objects.filter(
        kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT, active=True
    ).order_by("code")


def receiving_streams() -> QuerySet[ValueStream]:
    return (
        ValueStream.objects.filter(active=True)
        .filter(~Q(kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT))
        .order_by("code")
    )
