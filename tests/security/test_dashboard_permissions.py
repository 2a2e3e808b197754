"""Dashboards and the review (issue 7) show a planner their own streams only, charts too."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db
M = "2027-01"


@pytest.fixture
def world(world, stream_b):
    stream_b.name = "Secret stream"
    stream_b.save()
    return world


def test_planner_cannot_open_another_streams_dashboard(client, world, planner_a):
    client.force_login(planner_a)
    assert client.get("/value-streams/A/").status_code == 200
    response = client.get(f"/value-streams/B/?cycle={M}")
    assert response.status_code == 403
    assert "Secret stream" not in response.content.decode()
    assert "B-1" not in response.content.decode()


def test_stream_list_and_review_leave_other_streams_out_charts_included(client, world, planner_a):
    client.force_login(planner_a)
    for url in ("/value-streams/", f"/cycles/{M}/review/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()  # figures are embedded with json_script
        assert "Secret stream" not in html, url
        assert "B-1" not in html, url
        assert '"B"' not in html, url  # no chart series or category for stream B


def test_executive_sees_every_stream_in_the_review(client, world, executive):
    client.force_login(executive)
    html = client.get(f"/cycles/{M}/review/").content.decode()
    assert "B-1" in html  # the same markers the planner's test looks for do appear here
    assert '"B"' in html


def test_dashboards_need_a_sign_in(client, world):
    for url in ("/value-streams/A/", "/review/", f"/cycles/{M}/review/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
