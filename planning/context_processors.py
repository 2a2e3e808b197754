"""Values every page's navigation needs (current cycle, unread notifications)."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from planning.selectors.cycles import user_can_start_cycle
from planning.selectors.plans import cycle_current, user_sees_company_plan
from valuestreams.selectors import value_streams_visible


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    # The "Plan" menu: evaluated only when a template reads it, and then once.
    @cache
    def plan_streams() -> list:
        return list(value_streams_visible(user=user))

    @cache
    def plan_company() -> bool:
        return user_sees_company_plan(user)

    return {
        "nav_cycle": cycle_current(),
        "nav_unread_count": user.notifications.filter(read_at__isnull=True).count(),
        "nav_can_start_cycle": user_can_start_cycle(user),
        "nav_plan_streams": plan_streams,
        "nav_plan_company": plan_company,
    }
