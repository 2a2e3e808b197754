"""Tokens end with the password (and after API_TOKEN_TTL_DAYS), users change their own
password, idle sessions end, and production refuses a weak SECRET_KEY."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from sofp.secret_key import secret_key_weakness
from tests.factories import PASSWORD, UserFactory
from tests.sofp.test_settings import PROD_ENV, _run

pytestmark = pytest.mark.django_db
URL = "/api/v1/cycles/"


def _api(client, key: str):
    return client.get(URL, HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_stops_working_when_the_password_changes(client):
    user = UserFactory(username="tok")
    token = Token.objects.create(user=user)
    assert _api(client, token.key).status_code == 200
    user.last_name = "Other"
    user.save()  # not the password: the token stays
    assert _api(client, token.key).status_code == 200
    user.set_password("a-brand-new-pass-42")
    user.save()
    assert _api(client, token.key).status_code == 401
    assert not Token.objects.filter(user=user).exists()


def test_changepassword_through_the_browser_ends_tokens_and_keeps_the_session(client):
    user = UserFactory(username="tok2")
    token = Token.objects.create(user=user)
    client.force_login(user)
    page = client.get("/accounts/password/")
    assert page.status_code == 200 and b"Change your password" in page.content
    bad = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
    )
    assert bad.status_code == 200 and _api(client, token.key).status_code == 200
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Quite-long-new-pass-77",
            "new_password2": "Quite-long-new-pass-77",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password/done/"
    assert client.get("/accounts/password/done/").status_code == 200  # still logged in
    user.refresh_from_db()
    assert user.check_password("Quite-long-new-pass-77")
    assert _api(client.__class__(), token.key).status_code == 401


def test_tokens_expire_after_the_ttl(client, settings):
    user = UserFactory(username="tok3")
    token = Token.objects.create(user=user)
    settings.API_TOKEN_TTL_DAYS = 30
    assert _api(client, token.key).status_code == 200
    Token.objects.filter(pk=token.pk).update(created=token.created - dt.timedelta(days=31))
    response = _api(client, token.key)
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    settings.API_TOKEN_TTL_DAYS = 0
    assert _api(client, token.key).status_code == 200


def test_an_idle_session_is_logged_out(client, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    user = UserFactory(username="idle")
    client.force_login(user)
    assert client.get("/cycles/").status_code == 200
    session = client.session
    assert isinstance(session["sofp_last_seen"], int)
    session["sofp_last_seen"] = int(time.time()) - 601
    session.save()
    response = client.get("/cycles/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_active_session_stays(client, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    client.force_login(UserFactory(username="busy"))
    session = client.session
    session["sofp_last_seen"] = int(time.time()) - 300
    session.save()
    assert client.get("/cycles/").status_code == 200
    assert client.session["sofp_last_seen"] >= int(time.time()) - 5


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("django-insecure-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "django-insecure"),
        ("changeme", "default or published"),
        ("short-but-random-Q7#", "characters; use at least 50"),
        ("ab" * 40, "only 2 different"),
    ],
)
def test_weak_secret_keys_are_named(key, why):
    assert why in secret_key_weakness(key)


def test_a_strong_key_passes():
    assert secret_key_weakness(PROD_ENV["SECRET_KEY"]) == ""


@pytest.mark.parametrize(
    "key",
    ["django-insecure-sofp-local-development-key-never-use-in-production", "x" * 60, "secret"],
)
def test_production_refuses_to_start_with_a_weak_key(key):
    result = _run(["manage.py", "check"], {**PROD_ENV, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_changepassword_command_ends_tokens_too(monkeypatch):
    user = UserFactory(username="cmd")
    Token.objects.create(user=user)
    monkeypatch.setattr("getpass.getpass", lambda *a, **k: "Command-new-pass-99")
    call_command("changepassword", "cmd", stdout=None)
    assert not Token.objects.filter(user=user).exists()
