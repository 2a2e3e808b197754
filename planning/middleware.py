"""Show every time in the company's time zone (meetings and deadlines are local)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from planning.selectors.cycles import company_settings_memo, company_time_zone


class CompanyTimezoneMiddleware:
    """Activates the company's zone for the request; the name comes from the cache, so
    a request costs no query for it, and the request keeps what it read (one cache read
    however many times it is formatted)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/health/"):
            # Health checks must answer without the database (liveness) or report it.
            return self.get_response(request)
        with company_settings_memo():
            return self._zoned(request)

    def _zoned(self, request: HttpRequest) -> HttpResponse:
        try:
            timezone.activate(zoneinfo.ZoneInfo(company_time_zone()))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
