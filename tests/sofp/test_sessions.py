"""Sessions read through the cache (sofp/sessions.py): the same sign-in, sign-out and
expiry as database sessions, without a query for the session on every request."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sofp import sessions
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached_sessions(settings):
    settings.SESSION_ENGINE = "sofp.sessions"
    return settings


def _session_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "django_session" in q["sql"]]


def test_a_signed_in_request_reads_its_session_from_the_cache(cached_sessions):
    user = UserFactory(username="cached")
    client = Client()
    assert client.login(username="cached", password=PASSWORD)
    assert client.get("/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert _session_queries(queries.captured_queries) == []
    # The row is still the record: it exists, and a lost cache entry is read back.
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    store = sessions.SessionStore(key)
    assert store.exists(key)
    store._cache.delete(store.cache_key)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/")
    assert page.status_code == 200 and page.wsgi_request.user == user
    assert len(_session_queries(queries.captured_queries)) == 1


def test_a_logged_out_session_is_refused(cached_sessions):
    UserFactory(username="leaver")
    client = Client()
    assert client.login(username="leaver", password=PASSWORD)
    assert client.get("/").status_code == 200
    old_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert client.post("/accounts/logout/").status_code == 302
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = old_key
    response = replay.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not sessions.SessionStore(old_key).exists(old_key)


def test_a_password_change_elsewhere_ends_the_cached_session(cached_sessions):
    """Django checks the session's password hash against the user on every request;
    a session read from the cache is checked the same way."""
    user = UserFactory(username="moved")
    client = Client()
    assert client.login(username="moved", password=PASSWORD)
    assert client.get("/").status_code == 200
    user.set_password("Another-long-pass-91")
    user.save()
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_cache_entries_live_at_most_session_cache_seconds(cached_sessions, monkeypatch):
    cached_sessions.SESSION_CACHE_SECONDS = 300
    assert sessions._cache_seconds(36_000) == 300
    assert sessions._cache_seconds(120) == 120
    cached_sessions.SESSION_CACHE_SECONDS = 0
    assert sessions._cache_seconds(36_000) == 36_000
    cached_sessions.SESSION_CACHE_SECONDS = 300
    seen = []
    store = sessions.SessionStore()
    monkeypatch.setattr(store._cache, "set", lambda key, value, timeout: seen.append(timeout))
    store["x"] = 1
    store.save()
    assert seen and set(seen) == {300}


def test_only_a_shared_cache_holds_sessions():
    """With a per-process cache a log-out in one process would not reach the others."""
    backend = django_settings.CACHES["default"]["BACKEND"]
    if backend == "sofp.cache.ResilientRedisCache":
        assert django_settings.SESSION_ENGINE == "sofp.sessions"
    else:
        assert django_settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
