"""Values every page's navigation needs (current cycle, unread notifications)."""

from __future__ import annotations

from django.http import HttpRequest

from planning.selectors import cycle_current
from planning.selectors_cycle import user_can_start_cycle


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_cycle": cycle_current(),
        "nav_unread_count": user.notifications.filter(read_at__isnull=True).count(),
        "nav_can_start_cycle": user_can_start_cycle(user),
    }
