"""Master data over the API: read what you may see, administrators write."""

from __future__ import annotations

import pytest

from valuestreams.models import ProductFamily, ValueStream


def test_planner_sees_only_own_streams_and_families(client_for, plan, planner_a):
    client = client_for(planner_a)
    assert [v["code"] for v in client.get("/api/v1/value-streams/").json()["results"]] == ["A"]
    families = client.get("/api/v1/product-families/").json()["results"]
    assert [f["code"] for f in families] == ["A-1"]
    assert families[0]["unit_price"] == "100.0000"


def test_admin_creates_and_updates_master_data(client_for, admin_user, stream_a):
    client = client_for(admin_user)
    response = client.post(
        "/api/v1/product-families/",
        {
            "code": "A-2",
            "name": "Second",
            "value_stream": "A",
            "unit_price": "10",
            "unit_material_cost": 4,
            "hours_per_unit": "0.25",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert ProductFamily.objects.get(code="A-2").value_stream == stream_a
    response = client.patch("/api/v1/value-streams/A/", {"headcount": 12}, format="json")
    assert response.status_code == 200 and ValueStream.objects.get(code="A").headcount == 12


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dos_min": "40", "dos_max": "20"}, "dos_max"),
        ({"unit_price": "-1"}, None),
        ({"unit_price": "abc"}, "unit_price"),
        ({"value_stream": "NOPE"}, "value_stream"),
        ({"code": "bad code!"}, "code"),
    ],
)
def test_bad_master_data_is_400_with_the_field(client_for, admin_user, family_a, body, field):
    response = client_for(admin_user).patch("/api/v1/product-families/A-1/", body, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert response.json()["errors"][0]["field"] == field
    assert ProductFamily.objects.get(code="A-1").unit_price == 100


def test_duplicate_code_is_400(client_for, admin_user, stream_a):
    response = client_for(admin_user).post(
        "/api/v1/value-streams/", {"code": "A", "name": "again"}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "code"


def test_delete_is_not_offered(client_for, admin_user, stream_a):
    assert client_for(admin_user).delete("/api/v1/value-streams/A/").status_code == 405
