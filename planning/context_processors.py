"""Values every page's navigation needs (current cycle, unread notifications)."""

from __future__ import annotations

from django.http import HttpRequest

from planning.selectors import cycle_current


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_cycle": cycle_current(),
        "nav_unread_count": user.notifications.filter(read_at__isnull=True).count(),
    }
