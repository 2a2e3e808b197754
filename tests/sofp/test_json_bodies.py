"""Every JSON endpoint — the API's and the grid's — answers a bad body with 400 or 413
problem JSON: malformed, nested too deeply, not UTF-8, or over the upload limit. Never a
500, never an HTML page, and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from planning.models import PlanValue
from sofp.errors import MAX_JSON_DEPTH, json_parse
from tests.factories import CycleFactory, ProductFamilyFactory

API = "/api/v1/cycles/2027-01"
ENDPOINTS = [
    ("api", "post", f"{API}/plan-values/bulk/"),
    ("api", "post", f"{API}/actuals/"),
    ("api", "post", f"{API}/approve/"),
    ("api", "post", "/api/v1/value-streams/"),
    ("api", "patch", "/api/v1/product-families/A-1/"),
    ("grid", "post", "/cycles/2027-01/grid/A/save/"),
    ("grid", "post", "/cycles/2027-01/grid/A/comment/"),
    ("grid", "post", "/cycles/2027-01/company/save/"),
    ("grid", "post", "/cycles/2027-01/company/comment/"),
]
BAD_BODIES = {
    "malformed": b'{"cells": [{"measure": "demand", ',
    "trailing_garbage": b'[{"value": 1}] and more',
    "deep_beyond_recursion": b"[" * 100_000 + b"]" * 100_000,
    "deeper_than_allowed": b'{"cells": ' + b"[" * 200 + b"]" * 200 + b"}",
    "latin_1": '[{"product_family": "Gebläse"}]'.encode("latin-1"),
    "utf_16": '[{"value": 1}]'.encode("utf-16"),
    "lone_surrogate_bytes": b'[{"value": "\xed\xa0\x80"}]',
}


@pytest.fixture
def world(db, stream_a, admin_user):
    CycleFactory(month=dt.date(2027, 1, 1))
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    return admin_user


def _client(kind: str, user) -> Client:
    if kind == "grid":
        client = Client()
        client.force_login(user)
        return client
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def _send(kind, method, url, user, body: bytes):
    return getattr(_client(kind, user), method)(
        url, body, content_type="application/json", HTTP_ACCEPT="application/json"
    )


def _assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert body["status"] == status and body["type"].startswith("urn:sofp:problem:")
    return body


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
@pytest.mark.parametrize(("kind", "method", "url"), ENDPOINTS)
def test_a_bad_body_is_a_400_problem(world, kind, method, url, name):
    response = _send(kind, method, url, world, BAD_BODIES[name])
    body = _assert_problem(response, 400)
    assert body["detail"]
    assert not PlanValue.objects.exists()


@pytest.mark.parametrize(("kind", "method", "url"), ENDPOINTS)
def test_a_body_over_the_limit_is_a_413_problem(world, settings, kind, method, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    rows = b",".join([b'{"product_family": "A-1", "month": "2027-01", "value": 1}'] * 60)
    response = _send(kind, method, url, world, b'{"cells": [' + rows + b"]}")
    assert "send fewer rows" in _assert_problem(response, 413)["detail"]
    assert not PlanValue.objects.exists()


def test_a_form_post_over_the_limit_to_the_grid_is_a_413_problem(world, settings):
    """Even when the body is read before the view (as a form), JSON clients get JSON."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    client = _client("grid", world)
    response = client.post(
        "/cycles/2027-01/grid/A/save/",
        "x=" + "1" * 500,
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code in (400, 413)
    assert response["Content-Type"] == "application/problem+json"


def test_the_grid_endpoints_answer_other_methods_with_a_405_problem(world):
    response = _client("grid", world).get("/cycles/2027-01/grid/A/save/")
    assert _assert_problem(response, 405)["detail"] == "Use POST here."
    assert response["Allow"] == "POST"


def test_the_grid_endpoints_answer_strangers_with_a_401_problem(db):
    response = Client().post("/cycles/2027-01/grid/A/save/", b"{}", content_type="application/json")
    _assert_problem(response, 401)


def test_a_body_at_the_depth_limit_is_accepted_and_one_deeper_is_not():
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert json_parse(at_limit) is not None
    with pytest.raises(Exception, match="nested more than"):
        json_parse(b"[" + at_limit + b"]")
