"""Plan values over the API: list and filters, files, bulk upsert, versions, actuals."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from planning.models import PlanValue, PlanValueChange

C = "/api/v1/cycles/2027-01"
ROW = {"value_stream": "A", "product_family": "A-1", "month": "2027-02", "measure": "demand"}


@pytest.fixture
def api(client_for, admin_user):
    return client_for(admin_user)


def stored(measure="demand", month="2027-02", family="A-1") -> Decimal | None:
    pv = PlanValue.objects.filter(
        cycle__month="2027-01-01",
        product_family__code=family,
        month=f"{month}-01",
        measure=measure,
    ).first()
    return None if pv is None else pv.value


def test_list_filters_by_stream_family_measure_and_month_range(api, plan):
    url = f"{C}/plan-values/?value_stream=B&measure=demand&month_from=2027-03&month_to=2027-05"
    body = api.get(url).json()
    assert body["count"] == 3
    assert [r["month"] for r in body["results"]] == ["2027-03", "2027-04", "2027-05"]
    first = body["results"][0]
    assert first == {
        **first,
        "value_stream": "B",
        "product_family": "B-1",
        "measure": "demand",
        "value": "102.000000",
        "version": 1,
    }


def test_list_paginates_with_page_size(api, plan):
    body = api.get(f"{C}/plan-values/?page_size=10&page=2").json()
    assert len(body["results"]) == 10 and body["previous"] and body["next"]


@pytest.mark.parametrize("size", ["999999", "5001", "0", "-1", "abc", "1.5"])
def test_page_size_outside_1_to_5000_is_a_400(api, plan, size):
    response = api.get(f"{C}/plan-values/?page_size={size}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page_size"


def test_page_size_5000_is_the_largest_page(api, plan):
    body = api.get(f"{C}/plan-values/?page_size=5000").json()
    assert body["count"] == len(body["results"])  # fewer than 5000 rows, all on one page


@pytest.mark.parametrize(
    ("query", "field"),
    [("month_from=2027-13", "month_from"), ("month_to=junk", "month_to"), ("measure=x", "measure")],
)
def test_bad_filters_are_400_naming_the_field(api, plan, query, field):
    response = api.get(f"{C}/plan-values/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_unknown_cycle_is_404(api, plan):
    assert api.get("/api/v1/cycles/2030-01/plan-values/").status_code == 404
    assert api.get("/api/v1/cycles/2027-13/plan-values/").status_code == 404


def test_csv_is_the_file_contract_and_not_paginated(api, plan):
    response = api.get(f"{C}/plan-values/?format=csv&page_size=1")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="sofp-plan-values-2027-01.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["value_stream", "product_family", "month", "measure", "value"]
    assert len(rows) - 1 == PlanValue.objects.count()
    assert ["", "", "2027-01", "sustaining_cost", "1000.000000"] in rows


def test_xlsx_has_the_same_rows(api, plan):
    response = api.get(f"{C}/plan-values/?format=xlsx&measure=demand&value_stream=A")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("value_stream", "product_family", "month", "measure", "value")
    assert rows[1] == ("A", "A-1", "2027-01", "demand", 100.0)
    assert len(rows) == 19


def test_file_format_errors_come_back_as_json(api, plan):
    response = api.get(f"{C}/plan-values/?format=csv&month_from=nope")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "month_from"


def test_bulk_upsert_creates_changes_and_clears_and_returns_versions(api, plan):
    rows = [
        {**ROW, "value": "120.5", "version": 1},
        {**ROW, "month": "2027-03", "measure": "actual_sales", "value": 7},
        {**ROW, "measure": "production", "value": None},
    ]
    response = api.post(f"{C}/plan-values/bulk/", rows, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["added"], body["changed"], body["deleted"]) == (1, 1, 1)
    assert [(r["index"], r["value"], r["version"]) for r in body["rows"]] == [
        (0, "120.500000", 2),
        (1, "7.000000", 1),
        (2, None, 2),  # cleared: a tombstone one version on (versions never restart)
    ]
    assert stored() == Decimal("120.5") and stored("production") is None
    assert PlanValueChange.objects.filter(source="api").count() == 3


def test_bulk_upsert_dry_run_writes_nothing(api, plan):
    response = api.post(f"{C}/plan-values/bulk/?dry_run=1", [{**ROW, "value": 1}], format="json")
    assert response.json()["changed"] == 1 and response.json()["dry_run"] is True
    assert stored() == Decimal("101")


def test_bulk_errors_name_row_index_and_field_and_write_nothing(api, plan):
    rows = [
        {**ROW, "value": "1"},
        {**ROW, "product_family": "NOPE", "value": "2"},
        {**ROW, "month": "2030-01", "value": "3"},
        {**ROW, "month": "2027-04", "value": "-4"},
        {**ROW, "measure": "demand", "month": "2027-02", "value": "5"},
    ]
    response = api.post(f"{C}/plan-values/bulk/", rows, format="json")
    assert response.status_code == 400
    errors = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert {(1, "product_family"), (2, "month"), (3, "value"), (4, None)} <= errors
    assert stored() == Decimal("101")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", None),
        ({"rows": []}, None),
        ([1, 2], None),
        ([{**ROW, "value": "abc"}], "value"),
        ([{**ROW, "value": True}], "value"),
        ([{**ROW, "value": "1e999999"}], "value"),
        ([{**ROW, "value": "NaN"}], "value"),
        ([{**ROW, "value": 10**40}], "value"),
        ([{**ROW, "month": "2027-13", "value": 1}], "month"),
        ([{**ROW, "month": 202701, "value": 1}], "month"),
        ([{**ROW, "measure": "revenue", "value": 1}], "measure"),
        ([{**ROW, "version": "x", "value": 1}], "version"),
        ([{**ROW, "version": -1, "value": 1}], "version"),
        ([{**ROW, "value_stream": ["A"], "value": 1}], "value_stream"),
        ([{**ROW}], "value"),
    ],
)
def test_bulk_garbage_is_a_400_never_a_500(api, plan, body, field):
    if isinstance(body, str):
        response = api.post(f"{C}/plan-values/bulk/", body, content_type="application/json")
    else:
        response = api.post(f"{C}/plan-values/bulk/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    if field:
        assert errors[0]["field"] == field and errors[0]["index"] == 0
    assert stored() == Decimal("101")


def test_bulk_accepts_numbers_and_strings_exactly(api, plan):
    rows = [{**ROW, "value": "0.1234564"}, {**ROW, "month": "2027-03", "value": 0.1}]
    assert api.post(f"{C}/plan-values/bulk/", rows, format="json").status_code == 200
    assert stored() == Decimal("0.123456") and stored(month="2027-03") == Decimal("0.1")


def test_stale_version_is_409_with_the_current_value_and_writes_nothing(api, plan, planner_a):
    api.post(f"{C}/plan-values/bulk/", [{**ROW, "value": "150"}], format="json")  # now v2
    rows = [
        {**ROW, "month": "2027-03", "value": "9", "version": 1},
        {**ROW, "value": "130", "version": 1},
    ]
    response = api.post(f"{C}/plan-values/bulk/", rows, format="json")
    assert response.status_code == 409
    conflict = response.json()["conflicts"][0]
    assert conflict["index"] == 1
    assert (conflict["current_value"], conflict["current_version"]) == ("150.000000", 2)
    assert conflict["changed_by"] == "root"
    assert stored(month="2027-03") == Decimal("102")


def test_version_zero_means_the_cell_was_empty(api, plan):
    row = {**ROW, "measure": "actual_sales", "value": 3, "version": 0}
    assert api.post(f"{C}/plan-values/bulk/", [row], format="json").status_code == 200
    assert api.post(f"{C}/plan-values/bulk/", [row], format="json").status_code == 409


def test_frozen_cycle_refuses_with_409_and_a_message(api, frozen_cycle, family_a):
    row = {**ROW, "month": "2026-12", "value": 1}
    response = api.post("/api/v1/cycles/2026-12/plan-values/bulk/", [row], format="json")
    assert response.status_code == 409
    assert "frozen" in response.json()["detail"]


def test_forbidden_rows_are_listed_by_index(client_for, plan, planner_a):
    rows = [{**ROW, "value": 1}, {**ROW, "value_stream": "B", "product_family": "B-1", "value": 2}]
    response = client_for(planner_a).post(f"{C}/plan-values/bulk/", rows, format="json")
    assert response.status_code == 403
    (error,) = response.json()["errors"]
    assert {k: error[k] for k in ("index", "field", "code", "message")} == {
        "index": 1,
        "field": "value_stream",
        "code": "forbidden",
        "message": "you are not a planner of value stream 'B'",
    }
    assert stored() == Decimal("101")


def test_push_actuals_derives_the_stream_and_accepts_the_past_year(api, plan):
    rows = [
        {"product_family": "A-1", "month": "2026-01", "value": "11"},
        {"product_family": "B-1", "month": "2027-01", "value": 12},
    ]
    response = api.post(f"{C}/actuals/", rows, format="json")
    assert response.status_code == 200, response.content
    assert stored("actual_sales", "2026-01") == Decimal("11")
    assert stored("actual_sales", "2027-01", "B-1") == Decimal("12")


def test_actuals_errors_name_the_family_and_month_only(api, plan):
    rows = [
        {"product_family": "NOPE", "month": "2026-12", "value": 1},
        {"product_family": "A-1", "month": "2025-12", "value": 1},
    ]
    response = api.post(f"{C}/actuals/", rows, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (0, "product_family"),
        (1, "month"),
    ]


def test_bulk_change_records_history_and_who_changed_it(api, plan, admin_user):
    api.post(f"{C}/plan-values/bulk/", [{**ROW, "value": "150.25"}], format="json")
    pv = PlanValue.objects.get(
        cycle=plan, product_family__code="A-1", month="2027-02-01", measure="demand"
    )
    assert (pv.value, pv.version, pv.updated_by) == (Decimal("150.25"), 2, admin_user)
    change = PlanValueChange.objects.get(plan_value=pv, source="api")
    assert (change.old_value, change.new_value, change.version) == (
        Decimal("101"),
        Decimal("150.25"),
        2,
    )
    assert change.changed_by == admin_user and change.changed_at is not None
    listed = api.get(
        f"{C}/plan-values/?measure=demand&value_stream=A&month_from=2027-02&month_to=2027-02"
    ).json()["results"][0]
    assert (listed["version"], listed["updated_by"]) == (2, "root")


def test_a_body_over_the_upload_limit_is_413_json(api, plan, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(f"{C}/plan-values/bulk/", [{**ROW, "value": 1}] * 50, format="json")
    assert response.status_code == 413 and "fewer rows" in response.json()["detail"]


def test_form_encoded_bulk_is_refused_415(api, plan):
    response = api.post(
        f"{C}/plan-values/bulk/", "x=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
