"""API tokens are read with SQL compiled once: the same token, user and answers as DRF's
``TokenAuthentication``, and a token deleted or a user deactivated stops at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from sofp.auth import ExpiringTokenAuthentication
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/cycles/"


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _drf_answer(key: str):
    try:
        return TokenAuthentication().authenticate_credentials(key)
    except exceptions.AuthenticationFailed as exc:
        return exc


def _our_answer(key: str):
    try:
        return ExpiringTokenAuthentication().authenticate_credentials(key)
    except exceptions.AuthenticationFailed as exc:
        return exc


def test_the_token_and_its_user_are_drfs(django_user_model):
    first = UserFactory(username="tok_a", first_name="Ä", email="a@example.com")
    second = UserFactory(username="tok_b", is_staff=True)
    for user in (first, second):
        user.last_login = None if user is first else user.date_joined
        user.save()
        key = Token.objects.create(user=user).key
        with CaptureQueriesContext(connection) as queries:
            ours_user, ours_token = ExpiringTokenAuthentication().authenticate_credentials(key)
            assert ours_token.user is ours_user  # no second query for the user
        assert len(queries.captured_queries) <= 2  # the token and user; roles on a cold cache
        drf_user, drf_token = TokenAuthentication().authenticate_credentials(key)
        assert _fields(ours_token) == _fields(drf_token)
        assert _fields(ours_user) == _fields(drf_user)
        assert type(ours_user) is django_user_model and ours_user.pk == user.pk
        assert not ours_user._state.adding and ours_token._state.db == drf_token._state.db


@pytest.mark.parametrize("case", ["unknown", "inactive", "empty", "odd characters"])
def test_a_refused_token_gets_drfs_answer_word_for_word(case):
    user = UserFactory(username="tok_c")
    key = Token.objects.create(user=user).key
    if case == "unknown":
        key = "0" * 40
    elif case == "inactive":
        user.is_active = False
        user.save()
    elif case == "empty":
        key = ""
    else:
        key = "é'\";--%s%%"
    ours, drf = _our_answer(key), _drf_answer(key)
    assert isinstance(ours, exceptions.AuthenticationFailed)
    assert isinstance(drf, exceptions.AuthenticationFailed)
    assert (str(ours.detail), ours.detail.code) == (str(drf.detail), drf.detail.code)


def test_a_deleted_token_or_deactivated_user_stops_on_the_next_request(client):
    user = UserFactory(username="tok_d")
    token = Token.objects.create(user=user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get(URL, **auth).status_code == 200
    token.delete()
    refused = client.get(URL, **auth)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Invalid token."
    token = Token.objects.create(user=user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get(URL, **auth).status_code == 200
    user.is_active = False
    user.save()
    refused = client.get(URL, **auth)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "User inactive or deleted."
