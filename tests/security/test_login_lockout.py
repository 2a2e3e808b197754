"""django-axes: five wrong passwords lock username+IP for 15 minutes, with a kind page."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import path
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view
from rest_framework.response import Response

from sofp.urls import urlpatterns as site_urlpatterns


@api_view(["GET"])
def whoami(request):
    return Response({"username": request.user.username})


urlpatterns = [path("api/v1/test/whoami/", whoami), *site_urlpatterns]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
axes_on = override_settings(AXES_ENABLED=True)


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@axes_on
def test_the_right_password_still_signs_in_with_axes_on(executive, password):
    client = Client()
    response = _login(client, "exec", password)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@axes_on
def test_five_wrong_passwords_lock_the_account_from_that_address(executive, password):
    client = Client()
    for _ in range(4):
        assert _login(client, "exec", "wrong").status_code == 200  # form with an error
    locked = _login(client, "exec", "wrong")
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    # Even the right password is refused during the cool-off.
    assert _login(client, "exec", password).status_code == 429
    assert "_auth_user_id" not in client.session


@axes_on
def test_the_lock_is_per_username_and_address(executive, finance_user, password):
    client = Client()
    for _ in range(5):
        _login(client, "exec", "wrong")
    assert _login(Client(), "exec", password, ip="10.0.0.2").status_code == 302
    assert _login(Client(), "fin", password).status_code == 302


@axes_on
def test_a_successful_sign_in_resets_the_count(executive, password):
    client = Client()
    for _ in range(4):
        _login(client, "exec", "wrong")
    assert _login(client, "exec", password).status_code == 302
    for _ in range(4):
        assert _login(Client(), "exec", "wrong").status_code == 200


@axes_on
def test_token_and_session_auth_of_the_api_still_work(executive):
    token = Token.objects.create(user=executive)
    client = Client()
    response = client.get("/api/v1/test/whoami/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.json() == {"username": "exec"}
    client.force_login(executive)
    assert client.get("/api/v1/test/whoami/").json() == {"username": "exec"}
    assert Client().get("/api/v1/test/whoami/").status_code in (401, 403)
