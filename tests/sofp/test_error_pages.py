"""A 500 is a clean page (or JSON for the API) with a reference; CSRF failures explain."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw_client():
    return Client(raise_request_exception=False)


@pytest.mark.urls("tests.sofp.urls_faulty")
def test_a_database_error_on_a_page_gives_the_friendly_500_page(raw_client):
    response = raw_client.get("/test/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert response["X-Request-ID"] in html
    assert "OperationalError" not in html and "Traceback" not in html


@pytest.mark.urls("tests.sofp.urls_faulty")
def test_a_database_error_in_the_api_gives_json(raw_client):
    response = raw_client.get("/api/v1/test/broken/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert "try again" in body["detail"]
    assert body["request_id"] == response["X-Request-ID"]


def test_a_form_without_csrf_token_gets_the_friendly_403(executive, password):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "exec", "password": password})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Please reload the page" in html
    assert "Nothing was saved" in html


def test_an_unknown_page_gives_the_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()


def test_an_application_error_a_page_lets_escape_is_a_page_not_a_500(client, planner_a, cycle):
    client.force_login(planner_a)
    page = client.get("/cycles/2027-01/download/?format=pdf")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
    assert "format must be csv or xlsx" in page.content.decode()
    as_json = client.get("/cycles/2027-01/download/?format=pdf", HTTP_ACCEPT="application/json")
    assert as_json.status_code == 400 and as_json["Content-Type"] == "application/problem+json"
    assert as_json.json()["errors"][0]["code"] == "bad_format"
