"""API tokens that stop working: when their user's password changes, and (optionally)
after ``API_TOKEN_TTL_DAYS``; and the idle-session timeout of the browser."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import router
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from sofp.prepared import PreparedQuery

# --- The signed-in user and their company roles, read through the cache ---------------
# Every request read its user row, and nearly every one the user's groups (the company
# roles of valuestreams.roles): two queries before the page did anything. With a cache
# all processes share (Redis), both are kept for at most SOFP_USER_CACHE_SECONDS and
# forgotten whenever they change (signals below: a user saved or deleted, groups added,
# removed or cleared, a group renamed or deleted), so a change is seen on the next
# request. The short lifetime bounds what a lost delete (Redis unreachable) or a write
# racing a read could leave behind. 0 (the default without Redis): no caching.
_USER_KEY = "sofp:auth:user:v1:{}"
_ROLES_KEY = "sofp:auth:roles:v1:{}"


def _user_cache_seconds() -> int:
    return int(getattr(settings, "SOFP_USER_CACHE_SECONDS", 0) or 0)


def user_cache_forget(user_ids) -> None:
    """Forget what is kept of these users (their row and their roles)."""
    keys = [key.format(pk) for pk in user_ids for key in (_USER_KEY, _ROLES_KEY)]
    if keys:
        cache.delete_many(keys)


def _attach_roles(user, roles: set[str] | None, seconds: int) -> None:
    """Give ``user`` its roles the way ``valuestreams.roles.user_roles`` keeps them."""
    if roles is None:
        roles = set(user.groups.values_list("name", flat=True))
        cache.set(_ROLES_KEY.format(user.pk), roles, seconds)
    user._sofp_roles = set(roles)


class CachedModelBackend(ModelBackend):
    """Django's ``ModelBackend``; ``get_user`` (every signed-in request) reads the user
    and their roles from the cache when ``SOFP_USER_CACHE_SECONDS`` is on. The session's
    password hash is still checked against the user (Django does that after get_user),
    and an inactive user is still refused."""

    def get_user(self, user_id):
        seconds = _user_cache_seconds()
        if seconds <= 0:
            return super().get_user(user_id)
        user_key, roles_key = _USER_KEY.format(user_id), _ROLES_KEY.format(user_id)
        found = cache.get_many([user_key, roles_key])
        user = found.get(user_key)
        if user is None:
            user_model = get_user_model()
            try:
                user = user_model._default_manager.get(pk=user_id)
            except user_model.DoesNotExist:
                return None
            cache.set(user_key, user, seconds)  # before anything is attached to it
        _attach_roles(user, found.get(roles_key), seconds)
        return user if self.user_can_authenticate(user) else None


def user_cache_on_user_change(sender, instance, **_: object) -> None:
    """post_save / post_delete of the user model."""
    if instance.pk is not None:
        user_cache_forget([instance.pk])


def user_cache_on_groups_change(
    sender, instance, action: str, reverse: bool, pk_set, **_: object
) -> None:
    """m2m_changed of ``User.groups``: from the user's side or the group's."""
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            user_cache_forget([instance.pk])
        return
    if action == "pre_clear":  # the group's users, before they are gone
        instance._sofp_cleared_user_ids = list(instance.user_set.values_list("pk", flat=True))
        user_cache_forget(instance._sofp_cleared_user_ids)
    elif action == "post_clear":
        user_cache_forget(getattr(instance, "_sofp_cleared_user_ids", []))
    elif action in ("post_add", "post_remove"):
        user_cache_forget(pk_set or [])


def user_cache_on_group_change(sender, instance, **_: object) -> None:
    """post_save (a rename changes the roles of its users) and pre_delete of a group."""
    if instance.pk is not None:
        user_cache_forget(list(instance.user_set.values_list("pk", flat=True)))


# --- The API token and its user, read with SQL compiled once ---------------------------
# Every API request reads its token and the token's user from the database (a revoked
# token must stop at once), and Django building that query's SQL cost more than the
# database answering it. The query is DRF's own (``select_related("user").get(key=…)``,
# as named columns), a ``PreparedQuery`` per token model; the rows get the ORM's
# conversions and become the same model instances (``Model.from_db``).
_KEY = "sofp-stand-in-token-key-\u2400"


class _TokenReader:
    def __init__(self) -> None:
        self._prepared: dict[type, tuple] = {}

    def _query(self, model) -> tuple:
        found = self._prepared.get(model)
        if found is None:
            user_model = model._meta.get_field("user").related_model
            token_names = [f.attname for f in model._meta.concrete_fields]
            user_names = [f.attname for f in user_model._meta.concrete_fields]
            query = PreparedQuery(
                lambda key: model._default_manager.filter(key=key).values_list(
                    *token_names, *(f"user__{n}" for n in user_names)
                ),
                convert=True,
                key=_KEY,
            )
            found = self._prepared[model] = (query, token_names, user_model, user_names)
        return found

    def get(self, model, key: str):
        """``model.objects.select_related("user").get(key=key)``: the token with its
        user, or ``model.DoesNotExist``."""
        using = router.db_for_read(model)
        query, token_names, user_model, user_names = self._query(model)
        rows = query.rows(using, key=key)
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:  # pragma: no cover - the key is the primary key
            raise model.MultipleObjectsReturned("more than one token with this key")
        split = len(token_names)
        token = model.from_db(using, token_names, rows[0][:split])
        user = user_model.from_db(using, user_names, rows[0][split:])
        model._meta.get_field("user").set_cached_value(token, user)
        return token


_tokens = _TokenReader()


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token, refused once it is older than ``API_TOKEN_TTL_DAYS`` (0: never).
    The token and its user are read with SQL compiled once (``_TokenReader``); the
    token's user gets their roles from the cache (``SOFP_USER_CACHE_SECONDS``)."""

    def authenticate_credentials(self, key: str):
        # DRF's TokenAuthentication.authenticate_credentials, its answers word for word.
        model = self.get_model()
        try:
            token = _tokens.get(model, key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user = token.user
        seconds = _user_cache_seconds()
        if seconds > 0:
            _attach_roles(user, cache.get(_ROLES_KEY.format(user.pk)), seconds)
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
