"""Login, logout and the home page of the current cycle."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_login_honours_next(client, planner_a, password):
    response = client.post(
        reverse("login"), {"username": "planner_a", "password": password, "next": "/?x=1"}
    )
    assert response.status_code == 302 and response["Location"] == "/?x=1"


def test_login_refuses_a_wrong_password_with_a_message(client, planner_a):
    response = client.post(reverse("login"), {"username": "planner_a", "password": "nope"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_login_does_not_redirect_off_site(client, planner_a, password):
    response = client.post(
        reverse("login"),
        {"username": "planner_a", "password": password, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("home")


def test_home_shows_the_current_cycle_steps_and_only_visible_streams(
    client, planner_a, stream_b, family_a
):
    CycleFactory(month=dt.date.today().replace(day=1))
    client.force_login(planner_a)
    html = client.get("/").content.decode()
    assert "Demand planning" in html and "SOFP executive meeting" in html
    assert "Stream A" in html and "Stream B" not in html


def test_executive_sees_every_stream(client, executive, stream_a, stream_b):
    client.force_login(executive)
    html = client.get("/").content.decode()
    assert "Stream A" in html and "Stream B" in html


def test_home_without_a_cycle_explains_what_to_do(client, planner_a):
    client.force_login(planner_a)
    html = client.get("/").content.decode()
    assert "No cycle has been started" in html


def test_logout_is_a_post_and_ends_the_session(client, planner_a):
    client.force_login(planner_a)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_static_files_are_served_locally(client, planner_a):
    client.force_login(planner_a)
    html = client.get(reverse("login")).content.decode()
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html


def test_home_counts_every_family_and_the_menu_shows_the_same_streams(
    client, planner_a, stream_a, stream_b, family_a
):
    """The page reads the streams once, for its table and the Plan menu; the count of
    families is every family of the stream, as ``families.all|length`` showed it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ProductFamilyFactory

    ProductFamilyFactory(value_stream=stream_a, code="OLD", active=False)
    CycleFactory(month=dt.date.today().replace(day=1))
    client.force_login(planner_a)
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    assert f'<td class="num">{stream_a.families.count()}</td>' in html
    assert stream_a.families.count() == 2
    # The grid link of stream A appears in the table and in the menu; B in neither.
    assert html.count(f"/grid/{stream_a.code}/") == 2
    assert f"/grid/{stream_b.code}/" not in html
    streams = [q["sql"] for q in queries.captured_queries if "valuestreams_valuestream" in q["sql"]]
    cycles = [
        q["sql"] for q in queries.captured_queries if 'FROM "planning_planningcycle"' in q["sql"]
    ]
    assert len(streams) == 2  # the streams, and the memberships' rights
    assert len(cycles) == 1
