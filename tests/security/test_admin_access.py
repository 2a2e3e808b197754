"""Only staff reach the admin; others are sent to its login, never shown data."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_the_admin_login(client):
    response = client.get("/admin/planning/planvalue/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("user_fixture", ["planner_a", "executive", "finance_user"])
def test_users_without_staff_status_cannot_reach_the_admin(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    for url in ("/admin/", "/admin/planning/planvalue/", "/admin/auth/user/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"]


def test_staff_reach_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/planning/planvalue/").status_code == 200
