"""Values every page's navigation needs (current cycle, unread notifications); the reads
themselves are selectors (``planning.selectors.navigation``)."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from planning.models import PlanningCycle
from planning.selectors.cycles import user_can_start_cycle
from planning.selectors.navigation import cycle_current, streams_visible, unread_notifications
from planning.selectors.plans import user_sees_company_plan
from valuestreams.models import ValueStream

__all__ = [
    "navigation",
    "remember_streams_visible",
    "request_cycle_current",
    "request_sees_company_plan",
    "streams_visible",  # the grid page reads the menu's streams itself
    "unread_notifications",
]

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
