"""Friendly answers for addresses that lead nowhere, and the API's index (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.dashboard_data import build_company
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    build_company(streams=1, families=2, month=dt.date(2027, 1, 1), previous=1)
    client.force_login(UserFactory(username="boss", roles=["executive"]))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/cycles/2031-05/",
        "/cycles/2031-05/review/",
        "/cycles/2031-05/grid/S00/",
        "/cycles/2031-05/prices/",
        "/cycles/2031-05/reconcile/",
        # every page of a cycle asks the one cycle_or_404
        "/cycles/2031-05/company/",
        "/cycles/2031-05/demand/S00/",
        "/cycles/2031-05/baseline/",
        "/cycles/2031-05/assumptions/",
        "/cycles/2031-05/scenarios/",
        "/cycles/2031-05/launches/",
        "/cycles/2031-05/board-pack/preview/",
        "/cycles/2031-05/upload/",
        "/cycles/2031-05/download/",
    ],
)
def test_unknown_cycle_month_gets_a_page_that_says_which_exist(signed_in, url):
    response = signed_in.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is no planning cycle 2031-05." in html
    assert "Cycles run from 2026-12 to 2027-01." in html
    assert 'href="/cycles/"' in html


def test_a_month_that_is_not_a_month_is_named(signed_in):
    response = signed_in.get("/cycles/2027-13/")
    assert response.status_code == 404
    assert "“2027-13” is not a month" in response.content.decode()


def test_api_root_lists_the_endpoints(client):
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    paths = {e["path"] for e in body["endpoints"]}
    assert "/api/v1/cycles/" in paths
    assert "/api/v1/cycles/{month}/plan-values/" in paths
    assert "/api/v1/value-streams/" in paths
    assert body["schema"].endswith("/api/v1/schema/")
    assert all(e["methods"] for e in body["endpoints"])
    # Still a JSON 404 below it.
    assert client.get("/api/v1/nothing-here/", HTTP_ACCEPT="application/json").status_code == 404
