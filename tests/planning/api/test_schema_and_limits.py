"""OpenAPI schema and docs, the browsable API, throttling and query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings

from planning.services.plan_values import CellInput, plan_values_upsert
from tests.caching import cache_clear
from tests.factories import ProductFamilyFactory

C = "/api/v1/cycles/2027-01"


def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    text = (tmp_path / "s.yml").read_text()
    assert "/api/v1/cycles/{month}/plan-values/bulk/" in text


def test_schema_and_swagger_ui_are_served_offline(client, db):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    assert "tokenAuth" in schema.json()["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html and "cdn" not in html.lower()


def test_every_schema_field_is_documented(client, db):
    schemas = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    missing = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, spec in schema.get("properties", {}).items()
        if "description" not in spec and "$ref" not in spec and "allOf" not in spec
    ]
    assert missing == []


def test_browsable_api_renders(client, plan, admin_user, password):
    client.login(username=admin_user.username, password=password)
    for url in (f"{C}/plan-values/", f"{C}/", f"{C}/box-score/", "/api/v1/value-streams/"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and b"<html" in response.content


def test_throttling_returns_429_with_a_tiny_rate(client_for, plan, planner_a):
    rates = {"anon": "2/min", "user": "3/min"}
    with override_settings(REST_FRAMEWORK={**_rf(), "DEFAULT_THROTTLE_RATES": rates}):
        cache_clear()
        client = client_for(planner_a)
        codes = [client.get(f"{C}/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        response = client.get(f"{C}/")
        assert "Retry-After" in response and "detail" in response.json()
        # Anonymous callers are refused (401) before throttling; the public schema counts.
        anon = [client_for().get("/api/v1/schema/").status_code for _ in range(3)]
        assert anon == [200, 200, 429]


def _rf() -> dict:
    from django.conf import settings

    return dict(settings.REST_FRAMEWORK)


@pytest.fixture
def many_values(cycle, stream_a, admin_user):
    """600 family values (enough for pages of 10 and 500)."""
    families = [ProductFamilyFactory(code=f"Q-{i}", value_stream=stream_a) for i in range(20)]
    cells = [
        CellInput(
            "A",
            f.code,
            dt.date(2027, 1 + m % 12, 1) if m < 12 else dt.date(2028, m - 11, 1),
            measure,
            Decimal(m),
        )
        for f in families
        for m in range(15)
        for measure in ("demand", "production")
    ]
    plan_values_upsert(cycle=cycle, cells=cells, user=admin_user)
    return cycle


@pytest.mark.parametrize("page_size", [10, 500])
@pytest.mark.parametrize("who", ["admin_user", "planner_a"])
def test_plan_value_list_queries_do_not_grow_with_page_size(
    request, client_for, many_values, django_assert_max_num_queries, page_size, who
):
    client = client_for(request.getfixturevalue(who))
    client.get(f"{C}/plan-values/?page_size=1")  # warm caches (content types, ...)
    with django_assert_max_num_queries(8):
        response = client.get(f"{C}/plan-values/?page_size={page_size}")
    assert response.status_code == 200


@pytest.mark.parametrize("page_size", [10, 500])
def test_master_data_and_cycle_lists_use_constant_queries(
    client_for, many_values, admin_user, django_assert_max_num_queries, page_size
):
    client = client_for(admin_user)
    for url in ("/api/v1/product-families/", "/api/v1/value-streams/", "/api/v1/cycles/"):
        client.get(f"{url}?page_size=1")
        with django_assert_max_num_queries(6):
            assert client.get(f"{url}?page_size={page_size}").status_code == 200
