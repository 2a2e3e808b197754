"""A planner sees only their own value streams on the pages that exist in this branch."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_pages_need_a_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_lists_only_the_planners_streams(client, planner_a, stream_b, family_b, cycle):
    client.force_login(planner_a)
    html = client.get("/").content.decode()
    assert "Stream A" in html
    assert "Stream B" not in html


def test_executive_home_lists_every_stream(client, executive, stream_a, stream_b, cycle):
    client.force_login(executive)
    html = client.get("/").content.decode()
    assert "Stream A" in html and "Stream B" in html
