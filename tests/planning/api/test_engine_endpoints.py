"""Projections, box score, exceptions, accuracy and export: the engine's numbers, as JSON."""

from __future__ import annotations

import csv
import io
import math

import pytest

from planning import engine
from planning.api.renderers import format_plan_value
from planning.selectors.plans import cycle_analysis, cycle_projection

C = "/api/v1/cycles/2027-01"


@pytest.fixture
def api(client_for, executive):
    return client_for(executive)


def rows_of(api, url: str) -> list[dict]:
    """Every row of a paginated engine endpoint (one big page)."""
    sep = "&" if "?" in url else "?"
    body = api.get(f"{url}{sep}page_size=5000").json()
    assert body["count"] == len(body["results"]) and body["next"] is None
    return body["results"]


def num(text: str | None) -> float | None:
    """Engine numbers are decimal strings with exactly 6 decimals."""
    if text is None:
        return None
    assert isinstance(text, str) and len(text.rsplit(".", 1)[1]) == 6, text
    return float(text)


def test_family_projection_is_the_engine_frame_with_nan_as_null(api, plan):
    rows = rows_of(api, f"{C}/projections/families/")
    frame = cycle_projection(cycle=plan).family
    assert len(rows) == len(frame) == 36
    first = rows[0]
    assert first["month"] == "2027-01" and first["product_family"] == "A-1"
    assert num(first["ending_inventory"]) == pytest.approx(frame["ending_inventory"].iloc[0])
    assert first["actual_sales"] is None  # NaN in the engine


def test_stream_projection_matches_the_engine(api, plan):
    rows = rows_of(api, f"{C}/projections/streams/")
    frame = cycle_projection(cycle=plan).stream
    assert [num(r["utilization"]) for r in rows] == pytest.approx(
        list(frame["utilization"]), abs=1e-6
    )


def test_company_projection_matches_the_engine(api, plan):
    rows = rows_of(api, f"{C}/projections/company/")
    frame = cycle_projection(cycle=plan).company
    assert [num(r["cash_flow"]) for r in rows] == pytest.approx(list(frame["cash_flow"]))
    assert rows[0]["sustaining_cost"] == "1000.000000"


def test_box_score_has_stream_and_company_rows(api, plan):
    rows = rows_of(api, f"{C}/box-score/")
    company = [r for r in rows if r["value_stream"] == ""]
    streams = cycle_projection(cycle=plan).stream
    assert len(company) == 18 and len(rows) == len(streams) + 18
    a = next(r for r in rows if r["value_stream"] == "A")
    assert num(a["revenue"]) == pytest.approx(streams["revenue"].iloc[0])
    assert num(a["productive_share"]) == pytest.approx(
        streams["productive_share"].iloc[0], abs=1e-6
    )
    assert company[0]["company_profit"] is not None


def test_box_score_of_a_planner_has_no_company_rows(client_for, plan, planner_a):
    rows = rows_of(client_for(planner_a), f"{C}/box-score/")
    assert {r["value_stream"] for r in rows} == {"A"}


def test_exceptions_are_the_engines_worst_first(api, plan):
    rows = rows_of(api, f"{C}/exceptions/")
    expected = cycle_analysis(cycle=plan).exceptions
    assert len(rows) == len(expected) > 0
    assert [r["kind"] for r in rows] == list(expected["kind"])
    assert rows[0]["message"] == expected["message"].iloc[0]


def test_accuracy_compares_actuals_with_the_frozen_plan(api, client_for, planner_a, plan):
    import datetime as dt
    from decimal import Decimal

    from planning.models import PlanValue
    from tests.factories import CycleFactory

    before = CycleFactory(month=dt.date(2026, 11, 1), status="approved")
    for fam, forecast in (("A-1", "80"), ("B-1", "50")):
        family = plan.values.filter(product_family__code=fam).first().product_family
        PlanValue.objects.create(
            cycle=before,
            value_stream=family.value_stream,
            product_family=family,
            month=dt.date(2026, 12, 1),
            measure="demand",
            value=Decimal(forecast),
        )
    actuals = [
        {"product_family": "A-1", "month": "2026-12", "value": 100},
        {"product_family": "B-1", "month": "2026-12", "value": 50},
    ]
    assert api.post(f"{C}/actuals/", actuals, format="json").status_code == 403  # executive
    from planning.services.plan_values import CellInput, plan_values_upsert

    plan_values_upsert(
        cycle=plan,
        cells=[
            CellInput(
                a["product_family"][0],
                a["product_family"],
                dt.date(2026, 12, 1),
                "actual_sales",
                Decimal(a["value"]),
            )
            for a in actuals
        ],
        user=None,
    )
    body = api.get(f"{C}/accuracy/").json()
    assert body["family"][0]["abs_pct_error"] == "0.200000"
    assert body["company"] == [
        {
            "month": "2026-12",
            "forecast": "130.000000",
            "actual": "150.000000",
            "abs_error": "20.000000",
            "wape": f"{20 / 150:.6f}",
            "bias": f"{-20 / 150:.6f}",
        }
    ]
    assert body["count"] == 2 and body["next"] is None
    mine = client_for(planner_a).get(f"{C}/accuracy/").json()
    assert [r["value_stream"] for r in mine["stream"]] == ["A"] and mine["company"] == []


def test_export_csv_is_the_engine_export_formatted_per_the_contract(api, plan):
    response = api.get(f"{C}/export/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="sofp-plan-2027-01.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    frame = engine.export_frame(cycle_projection(cycle=plan))
    assert rows[0] == ["value_stream", "product_family", "month", "measure", "value"]
    assert len(rows) - 1 == len(frame)
    for row, expected in zip(rows[1:], frame.itertuples(index=False), strict=True):
        assert row[:4] == [expected[0], expected[1], expected[2], expected[3]]
        assert row[4] == ("" if math.isnan(expected[4]) else f"{expected[4]:.6f}")


def test_export_json_and_xlsx(api, plan):
    rows = api.get(f"{C}/export/?format=json").json()
    assert rows[0] == {
        "value_stream": "A",
        "product_family": "A-1",
        "month": "2027-01",
        "measure": "opening_inventory",
        "value": "50.000000",
    }
    response = api.get(f"{C}/export/?format=xlsx")
    assert response.content[:2] == b"PK"


@pytest.mark.parametrize(
    "url",
    [f"{C}/export/?format=pdf", f"{C}/plan-values/?format=nope", f"{C}/box-score/?format=csv"],
)
def test_unknown_format_is_a_400_naming_the_format(api, plan, url):
    response = api.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "format"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234.5, "1234.500000"),
        (0.1 + 0.2, "0.300000"),
        (-0.0000001, "0.000000"),
        (float("nan"), ""),
        (float("inf"), ""),
        (None, ""),
        (-12.25, "-12.250000"),
        (1e15, "1000000000000000.000000"),
    ],
)
def test_format_plan_value(value, text):
    assert format_plan_value(value) == text


def test_user_without_streams_gets_empty_projections(client_for, plan):
    from tests.factories import UserFactory

    nobody = UserFactory(username="nobody")
    client = client_for(nobody)
    assert client.get(f"{C}/projections/families/").json()["results"] == []
    assert client.get(f"{C}/box-score/").status_code == 200
    assert client.get(f"{C}/export/?format=csv").content.decode().count("\n") == 1


@pytest.mark.parametrize(
    ("serializer", "columns"),
    [
        ("BoxScoreSerializer", engine.BOX_SCORE_COLUMNS),
        ("FamilyProjectionSerializer", engine.FAMILY_COLUMNS),
        ("StreamProjectionSerializer", engine.STREAM_COLUMNS),
        ("CompanyProjectionSerializer", engine.COMPANY_COLUMNS),
        ("ExceptionSerializer", engine.EXCEPTION_COLUMNS),
        ("FamilyAccuracySerializer", engine.ACCURACY_FAMILY_COLUMNS),
        ("StreamAccuracySerializer", engine.ACCURACY_STREAM_COLUMNS),
        ("CompanyAccuracySerializer", engine.ACCURACY_COMPANY_COLUMNS),
    ],
)
def test_frame_serializers_document_every_engine_column(serializer, columns):
    from planning.api import serializers

    assert tuple(getattr(serializers, serializer)().fields) == tuple(columns)


def test_engine_rows_filter_by_stream_and_month_and_paginate(api, plan):
    url = f"{C}/projections/streams/?value_stream=B&month_from=2027-03&month_to=2027-05"
    rows = rows_of(api, url)
    assert [(r["value_stream"], r["month"]) for r in rows] == [
        ("B", "2027-03"),
        ("B", "2027-04"),
        ("B", "2027-05"),
    ]
    page = api.get(f"{C}/box-score/?page_size=5&page=2").json()
    assert page["count"] == 54 and len(page["results"]) == 5
    assert "page=3" in page["next"] and page["previous"]
    everything = rows_of(api, f"{C}/box-score/")
    assert page["results"] == everything[5:10]
    bad = api.get(f"{C}/exceptions/?month_from=2027-13")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "month_from"
    acc = api.get(f"{C}/accuracy/?value_stream=A&page_size=1").json()
    assert acc["company"] == [] and set(acc) == {
        "count",
        "next",
        "previous",
        "family",
        "stream",
        "company",
    }


def test_engine_numbers_are_six_decimal_strings_without_float_noise(api, plan):
    for url in ("projections/families/", "projections/streams/", "box-score/", "exceptions/"):
        for row in rows_of(api, f"{C}/{url}"):
            for key, value in row.items():
                if isinstance(value, float):
                    raise AssertionError(f"{url} {key} is a float: {value}")
                if isinstance(value, str) and value[:1].isdigit() and "." in value:
                    assert len(value.split(".")[1]) == 6, (url, key, value)
