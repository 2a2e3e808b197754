"""API tokens that stop working: when their user's password changes, and (optionally)
after ``API_TOKEN_TTL_DAYS``; and the idle-session timeout of the browser."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token, refused once it is older than ``API_TOKEN_TTL_DAYS`` (0: never)."""

    def authenticate_credentials(self, key: str):
        user, token = super().authenticate_credentials(key)
        days = int(getattr(settings, "API_TOKEN_TTL_DAYS", 0) or 0)
        if days > 0 and token.created < timezone.now() - dt.timedelta(days=days):
            raise exceptions.AuthenticationFailed(
                f"This token has expired (tokens last {days} days); ask for a new one."
            )
        return user, token


def tokens_revoke_on_password_change(
    sender, instance, raw: bool = False, update_fields=None, **_: object
) -> None:
    """A new password ends every API token of its user (pre_save of the user model):
    whoever knew the old password may have taken a token with it. Every path that
    changes a password saves the user — the browser page, the admin, ``changepassword``."""
    if raw or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return
    stored = type(instance).objects.filter(pk=instance.pk).values_list("password", flat=True)
    old = stored.first()
    if old is not None and old != instance.password:
        Token.objects.filter(user_id=instance.pk).delete()


_LAST_SEEN = "sofp_last_seen"


class SessionIdleTimeoutMiddleware:
    """Logs a browser session out after ``SESSION_IDLE_TIMEOUT`` seconds without a
    request (0: off). The time of the last request is written at most once a minute,
    so a busy page does not write its session on every call."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout = int(getattr(settings, "SESSION_IDLE_TIMEOUT", 0) or 0)
        user = getattr(request, "user", None)
        if timeout > 0 and user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(_LAST_SEEN)
            if isinstance(last, int) and now - last > timeout:
                logout(request)
            elif not isinstance(last, int) or now - last >= min(60, timeout):
                request.session[_LAST_SEEN] = now
        return self.get_response(request)
