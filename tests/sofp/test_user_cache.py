"""The signed-in user and their roles read through the cache (sofp/auth.py): every
change is seen on the next request, and no query is spent on them in between."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from tests.caching import cache_clear
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def user_cache(settings):
    settings.SOFP_USER_CACHE_SECONDS = 60
    cache_clear()
    yield settings
    cache_clear()


def _signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def _auth_queries(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "auth_user"' in q["sql"] or 'FROM "auth_group"' in q["sql"]
    ]


def _can_start_cycle(client: Client) -> bool:
    return b'data-testid="start-next-cycle"' in client.get("/").content


def test_the_user_and_roles_cost_no_query_once_kept():
    UserFactory(username="boss", roles=["executive"])
    client = _signed_in("boss")
    assert _can_start_cycle(client)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert _auth_queries(queries) == []


def test_a_role_taken_away_is_seen_on_the_next_request():
    user = UserFactory(username="boss2", roles=["executive"])
    client = _signed_in("boss2")
    assert _can_start_cycle(client) and _can_start_cycle(client)
    user.groups.clear()
    assert not _can_start_cycle(client)
    user.groups.add(Group.objects.get(name="executive"))
    assert _can_start_cycle(client)
    # From the group's side: removed, then the whole group cleared.
    group = Group.objects.get(name="executive")
    group.user_set.remove(user)
    assert not _can_start_cycle(client)
    group.user_set.add(user)
    assert _can_start_cycle(client)
    group.user_set.clear()
    assert not _can_start_cycle(client)


def test_a_renamed_or_deleted_group_is_seen_on_the_next_request():
    UserFactory(username="boss3", roles=["executive"])
    client = _signed_in("boss3")
    assert _can_start_cycle(client)
    group = Group.objects.get(name="executive")
    group.name = "former-executive"
    group.save()
    assert not _can_start_cycle(client)
    group.name = "executive"
    group.save()
    assert _can_start_cycle(client)
    group.delete()
    assert not _can_start_cycle(client)


def test_a_deactivated_or_deleted_user_is_signed_out_at_once():
    user = UserFactory(username="gone")
    client = _signed_in("gone")
    assert client.get("/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/").status_code == 302
    user.is_active = True
    user.save()
    client = _signed_in("gone")
    assert client.get("/").status_code == 200
    user.delete()
    assert client.get("/").status_code == 302


def test_a_new_password_ends_other_sessions_at_once():
    user = UserFactory(username="pw")
    client = _signed_in("pw")
    assert client.get("/").status_code == 200
    user.set_password("Some-other-long-pass-3")
    user.save()
    assert client.get("/").status_code == 302


def test_a_token_users_roles_follow_their_groups():
    user = UserFactory(username="api-boss", roles=["executive"])
    token = Token.objects.create(user=user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    url = "/api/v1/cycles/"
    assert api.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        api.get(url)
    assert not [q for q in queries.captured_queries if 'FROM "auth_group"' in q["sql"]]
    from valuestreams.roles import user_roles

    user.groups.clear()
    response = api.get(url)
    assert response.wsgi_request.user.is_authenticated
    assert user_roles(response.wsgi_request.user) == set()
    user.groups.add(Group.objects.get(name="executive"))
    assert user_roles(api.get(url).wsgi_request.user) == {"executive"}


def test_off_reads_the_database_every_time(user_cache):
    user_cache.SOFP_USER_CACHE_SECONDS = 0
    UserFactory(username="plain", roles=["executive"])
    client = _signed_in("plain")
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert len(_auth_queries(queries)) == 2  # the user, and their groups
