"""Values every page's navigation needs (current cycle, unread notifications)."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from planning.models import Notification, PlanningCycle
from planning.selectors.cycles import user_can_start_cycle
from planning.selectors.plans import cycle_current, user_sees_company_plan
from planning.selectors.prepared import PreparedQuery
from valuestreams.models import ValueStream
from valuestreams.roles import user_reads_all_streams
from valuestreams.selectors import value_streams_visible

# What a request has read for its page and its navigation, so that the two read it once.
_CYCLE = "_sofp_cycle_current"
_STREAMS = "_sofp_streams_visible"
_COMPANY = "_sofp_sees_company_plan"


def request_cycle_current(request: HttpRequest) -> PlanningCycle | None:
    """``cycle_current()`` read once per request (the page and the menu show the same
    cycle). Only for pages that do not start or approve a cycle before they render."""
    try:
        return request.__dict__[_CYCLE]
    except KeyError:
        cycle = request.__dict__[_CYCLE] = cycle_current()
        return cycle


def remember_streams_visible(request: HttpRequest, streams: list[ValueStream]) -> None:
    """A page that read ``value_streams_visible(user=request.user)`` (in its order)
    hands the list to the Plan menu, which shows the same streams."""
    request.__dict__[_STREAMS] = streams


# Every page's frame asks the same two questions: their SQL compiled once per process
# (the ORM's compilation cost more than the queries), asked of the one rule each.
_USER = -917_000_011
_STREAM_FIELDS = [f.attname for f in ValueStream._meta.concrete_fields]


def _streams_visible_to(user_id: int, *, all_streams: bool) -> QuerySet:
    """``value_streams_visible``'s query for a stand-in user holding only the id: a
    company-wide reader (``all_streams``) or a user whose streams are their memberships."""
    user = get_user_model()(pk=user_id, is_superuser=all_streams)
    user._sofp_roles = set()
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


def request_sees_company_plan(request: HttpRequest) -> bool:
    """``user_sees_company_plan(request.user)`` read once per request (the grid page's
    stream switch and the Plan menu both show the company link)."""
    try:
        return request.__dict__[_COMPANY]
    except KeyError:
        sees = request.__dict__[_COMPANY] = user_sees_company_plan(request.user)
        return sees


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    # The "Plan" menu: evaluated only when a template reads it, and then once.
    @cache
    def plan_streams() -> list:
        known = request.__dict__.get(_STREAMS)
        return list(known) if known is not None else streams_visible(user)

    @cache
    def plan_company() -> bool:
        return request_sees_company_plan(request)

    # Read when a template shows them (the frame, the home page), once. Not cached across
    # requests: notifications are marked read with bulk update(), which no stamp follows.
    @cache
    def unread_count() -> int:
        return unread_notifications(user)

    @cache
    def can_start_cycle() -> bool:
        return user_can_start_cycle(user)

    return {
        "nav_cycle": request_cycle_current(request),
        "nav_unread_count": unread_count,
        "nav_can_start_cycle": can_start_cycle,
        "nav_plan_streams": plan_streams,
        "nav_plan_company": plan_company,
    }
