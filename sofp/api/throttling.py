"""Anonymous and per-user rate limits whose rates are read from settings at request time.

DRF's own classes copy ``DEFAULT_THROTTLE_RATES`` once at import, so ``override_settings``
in a test (or a changed setting) would be ignored; these read it on every request.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _LiveRate:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_LiveRate, AnonRateThrottle):
    pass


class UserThrottle(_LiveRate, UserRateThrottle):
    pass
