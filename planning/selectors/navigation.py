"""What every page's frame and the API's cycle addresses read, with SQL compiled once.

Each request asks the same few small questions — the current cycle, the cycle of an
address, the streams of the Plan menu, the unread count — and Django building their SQL
cost more than the database answering. Each is the ORM's own queryset compiled once per
process (:mod:`sofp.prepared`) and run again with the request's values;
tests compare each with the selector it stands for.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from planning.calendar import parse_month
from planning.models import CycleStatus, Notification, PlanningCycle
from sofp.prepared import PreparedFirst, PreparedQuery
from valuestreams.models import ValueStream
from valuestreams.roles import user_reads_all_streams
from valuestreams.selectors import value_streams_visible

# Stand-in values the SQL is compiled with (never ids or months of real rows).
_USER = -917_000_011
_MONTH = dt.date(1901, 7, 1)

# --- The cycles ------------------------------------------------------------------------
# ``planning.selectors.plans.cycle_current``: the newest cycle not frozen, else the newest.
_OPEN_CYCLE = PreparedFirst(
    PlanningCycle,
    lambda: PlanningCycle.objects.exclude(status=CycleStatus.APPROVED).order_by("-month"),
)
_NEWEST_CYCLE = PreparedFirst(PlanningCycle, lambda: PlanningCycle.objects.order_by("-month"))
# ``planning.selectors.plans.cycle_get_by_label``: the cycle of a month.
_CYCLE_OF_MONTH = PreparedFirst(
    PlanningCycle, lambda month: PlanningCycle.objects.filter(month=month), month=_MONTH
)


def cycle_current() -> PlanningCycle | None:
    """``planning.selectors.plans.cycle_current()``, its two queries compiled once."""
    return _OPEN_CYCLE.get() or _NEWEST_CYCLE.get()


def cycle_by_label(label: str) -> PlanningCycle | None:
    """``planning.selectors.plans.cycle_get_by_label(label)``, compiled once."""
    month = parse_month(label)
    if month is None:
        return None
    return _CYCLE_OF_MONTH.get(month=month)


# --- The Plan menu and the unread count --------------------------------------------------
_STREAM_FIELDS = [f.attname for f in ValueStream._meta.concrete_fields]


def stand_in_user(user_id: int, *, all_streams: bool):
    """A user holding only an id, for compiling a user's query once: a company-wide
    reader (``all_streams``: every stream, as ``user_reads_all_streams``) or a user whose
    streams are their memberships."""
    user = get_user_model()(pk=user_id, is_superuser=all_streams)
    user._sofp_roles = set()
    return user


def _streams_visible_to(user_id: int, *, all_streams: bool) -> QuerySet:
    """``value_streams_visible``'s query for a stand-in user."""
    user = stand_in_user(user_id, all_streams=all_streams)
    return value_streams_visible(user=user).values_list(*_STREAM_FIELDS)


_ALL_STREAMS = PreparedQuery(lambda: _streams_visible_to(_USER, all_streams=True), convert=True)
_MEMBER_STREAMS = PreparedQuery(
    lambda user_id: _streams_visible_to(user_id, all_streams=False), convert=True, user_id=_USER
)
_UNREAD = PreparedQuery(
    lambda user_id: (
        Notification.objects.filter(user_id=user_id, read_at__isnull=True)
        .order_by()
        .values("user_id")
        .annotate(unread=Count("pk"))
        .values_list("unread")
    ),
    user_id=_USER,
)


def streams_visible(user) -> list[ValueStream]:
    """``list(value_streams_visible(user=user))`` for a signed-in user, in its order."""
    if user_reads_all_streams(user):
        rows = _ALL_STREAMS.rows()
    else:
        rows = _MEMBER_STREAMS.rows(user_id=user.pk)
    return [ValueStream.from_db("default", _STREAM_FIELDS, row) for row in rows]


def unread_notifications(user) -> int:
    """``user.notifications.filter(read_at__isnull=True).count()``."""
    rows = _UNREAD.rows(user_id=user.pk)
    return rows[0][0] if rows else 0
