"""``/api/v1/actuals/``: list with filters, bulk upsert with versions, the same "no"s as
the service."""

from __future__ import annotations

import pytest

from planning.models import Actual

pytestmark = pytest.mark.django_db

URL = "/api/v1/actuals/"
BULK = "/api/v1/actuals/bulk/"
ROWS = [
    {
        "value_stream": "A",
        "product_family": "A-1",
        "month": "2026-09",
        "measure": "actual_sales",
        "value": "120",
    },
    {"value_stream": "A", "month": "2026-09", "measure": "headcount", "value": 12},
    {"value_stream": "A", "month": "2026-10", "measure": "orders_shipped", "value": "40.5"},
]


@pytest.fixture
def admin_api(client_for, admin_user, family_a, family_b):
    return client_for(admin_user)


def test_bulk_upsert_then_list_with_filters_and_versions(admin_api):
    r = admin_api.post(BULK, ROWS, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["added"], body["rows"][2]["value"], body["rows"][2]["version"]) == (
        3,
        "40.500000",
        1,
    )
    listed = admin_api.get(URL).json()
    assert listed["count"] == 3
    sales = next(r for r in listed["results"] if r["measure"] == "actual_sales")
    assert sales["value"] == "120.000000" and sales["updated_at"].endswith("Z")
    assert admin_api.get(URL + "?measure=headcount").json()["count"] == 1
    assert admin_api.get(URL + "?month_from=2026-10").json()["count"] == 1
    assert admin_api.get(URL + "?month_to=2026-09&product_family=A-1").json()["count"] == 1
    assert admin_api.get(URL + "?updated_since=2999-01-01T00:00:00Z").json()["count"] == 0
    assert admin_api.get(URL + "?month_from=2026-13").status_code == 400
    # a stale version: 409, nothing written
    stale = [{**ROWS[0], "value": "121", "version": 0}]
    r = admin_api.post(BULK, stale, format="json")
    assert r.status_code == 409
    assert Actual.objects.get(measure="actual_sales").value == 120
    ok = [{**ROWS[0], "value": "121", "version": 1}]
    assert admin_api.post(BULK, ok, format="json").json()["rows"][0]["version"] == 2


def test_bad_rows_are_400_by_index_and_nothing_written(admin_api):
    rows = [ROWS[0], {**ROWS[1], "month": "2099-01"}, {**ROWS[0], "value": -3}]
    r = admin_api.post(BULK, rows, format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} >= {(1, "month"), (2, "value")}
    assert not Actual.objects.exists()


def test_rights_and_visibility(client_for, planner_a, executive, family_a, family_b):
    planner = client_for(planner_a)
    mine = {**ROWS[1]}
    other = {**ROWS[1], "value_stream": "B"}
    assert planner.post(BULK, [mine], format="json").status_code == 200
    assert planner.post(BULK, [other], format="json").status_code == 403
    assert client_for(executive).post(BULK, [mine], format="json").status_code == 403
    Actual.objects.create(
        value_stream=family_b.value_stream, month="2026-09-01", measure="headcount", value=3
    )
    assert [r["value_stream"] for r in planner.get(URL).json()["results"]] == ["A"]
    assert client_for(executive).get(URL).json()["count"] == 2
    assert client_for(None).get(URL).status_code == 401


def test_closed_box_score_api_and_download(
    client, client_for, admin_user, planner_a, family_a, family_b
):
    admin = client_for(admin_user)
    admin.post(BULK, ROWS[:2], format="json")
    r = admin.get("/api/v1/box-score/?month=2026-09")
    assert r.status_code == 200
    body = r.json()
    got = {(x["value_stream"], x["measure"]): x["value"] for x in body["results"]}
    assert float(got[("A", "revenue_per_person")]) == pytest.approx(
        120 * float(family_a.unit_price) / 12
    )
    assert got[("A", "on_time_delivery")] is None  # no orders entered: empty
    assert ("", "actual_revenue") in got
    assert admin.get("/api/v1/box-score/?month=2999-01").status_code == 400
    assert admin.get("/api/v1/box-score/?month=nope").status_code == 400
    # a planner sees its stream only, and no company rows
    mine = client_for(planner_a).get("/api/v1/box-score/?month=2026-09").json()["results"]
    assert {x["value_stream"] for x in mine} == {"A"}
    client.force_login(planner_a)
    r = client.get("/box-score/download/?month=2026-09")
    assert r.status_code == 200 and r["Content-Disposition"].endswith('2026-09.csv"')
    assert r.content.decode().splitlines()[0] == "value_stream,month,measure,value"


def test_box_score_value_stream_filter_narrows_or_answers_404(
    client, client_for, admin_user, planner_a, family_a, family_b
):
    admin = client_for(admin_user)
    admin.post(BULK, ROWS[:2], format="json")
    only_a = admin.get("/api/v1/box-score/?month=2026-09&value_stream=A").json()["results"]
    assert only_a and {x["value_stream"] for x in only_a} == {"A"}
    r = admin.get("/api/v1/box-score/?month=2026-09&value_stream=NOPE")
    assert r.status_code == 404 and r["Content-Type"].startswith("application/problem+json")
    assert "NOPE" in r.json()["detail"]
    # a stream the reader may not see is as unknown as one that does not exist
    hidden = client_for(planner_a).get("/api/v1/box-score/?month=2026-09&value_stream=B")
    assert hidden.status_code == 404
    client.force_login(planner_a)
    assert client.get("/box-score/download/?month=2026-09&value_stream=B").status_code == 404


def test_box_score_empty_month_is_400(admin_api):
    assert admin_api.get("/api/v1/box-score/?month=").status_code == 400
    assert admin_api.get("/api/v1/box-score/").status_code == 200  # the last closed month


@pytest.mark.parametrize("url", [URL, "/api/v1/box-score/?month=2026-09"])
def test_actuals_reads_send_an_etag_and_answer_304(admin_api, url):
    """Like the other API lists: ``ETag`` on the read, 304 for ``If-None-Match`` while
    nothing changed, a new body (and tag) once a fact changes."""
    admin_api.post(BULK, ROWS[:2], format="json")
    first = admin_api.get(url)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    again = admin_api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    assert again.content == b""
    admin_api.post(BULK, [{**ROWS[0], "value": "130", "version": 1}], format="json")
    changed = admin_api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
