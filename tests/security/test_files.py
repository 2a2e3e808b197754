"""Uploads and downloads (issue 4): formulas never run, files stay within their owner's
streams, sizes and types are limited, and exported text cannot become a formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from planning.imports import parse_plan
from planning.models import PlanValue
from planning.services.plan_import import plan_import
from sofp.errors import ValidationFailed
from tests.factories import PlanValueFactory, ProductFamilyFactory

pytestmark = pytest.mark.django_db
UPLOAD = "/cycles/2027-01/upload/"
DOWNLOAD = "/cycles/2027-01/download/"
HEADER = ["value_stream", "product_family", "month", "measure", "value"]


@pytest.fixture
def world(world, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return world


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client, data: bytes, name: str):
    return client.post(UPLOAD, {"action": "preview", "file": SimpleUploadedFile(name, data)})


def test_a_formula_in_an_xlsx_value_cell_is_refused_not_evaluated(world):
    data = _xlsx([["A", "A-1", "2027-01", "demand", "=10*10"]])
    parsed = parse_plan(data=data, filename="plan.xlsx")
    with pytest.raises(ValidationFailed) as info:
        plan_import(
            cycle=world, rows=parsed.rows, user=None, parse_errors=parsed.errors, dry_run=False
        )
    assert any("=10*10" in e and "not a number" in e for e in info.value.errors), info.value
    assert PlanValue.objects.get(product_family__code="A-1").value == Decimal("11")


def test_planner_cannot_upload_into_another_stream(client, world, planner_a):
    client.force_login(planner_a)
    data = ("\n".join([",".join(HEADER), "B,B-1,2027-01,demand,999"]) + "\n").encode()
    response = _upload(client, data, "plan.csv")
    assert response.status_code in (400, 403)
    assert "B" in response.content.decode()
    assert PlanValue.objects.get(product_family__code="B-1").value == Decimal("22")


def test_uploads_above_the_size_limit_are_refused(client, world, planner_a, settings):
    settings.SOFP_UPLOAD_MAX_BYTES = 200
    client.force_login(planner_a)
    data = ("\n".join([",".join(HEADER)] + ["A,A-1,2027-01,demand,1"] * 20) + "\n").encode()
    response = _upload(client, data, "plan.csv")
    assert response.status_code == 413
    assert PlanValue.objects.get(product_family__code="A-1").value == Decimal("11")


@pytest.mark.parametrize("name", ["plan.exe", "plan.xls", "plan.html", "plan"])
def test_only_csv_and_xlsx_are_accepted(client, world, planner_a, name):
    client.force_login(planner_a)
    response = _upload(client, b"value_stream,product_family\n", name)
    assert response.status_code == 400
    assert "only .csv and .xlsx" in response.content.decode()


def test_a_planners_download_holds_only_their_streams(client, world, planner_a):
    client.force_login(planner_a)
    response = client.get(DOWNLOAD + "?format=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows
    assert {r["value_stream"] for r in rows} <= {"A", ""}
    assert "B-1" not in {r["product_family"] for r in rows}


def test_exported_text_cannot_become_a_formula_but_numbers_stay_numbers(
    client, world, executive, stream_a
):
    evil = ProductFamilyFactory(code="=HYPERLINK(1)", value_stream=stream_a)
    PlanValueFactory(cycle=world, product_family=evil, value=Decimal("5"))  # demand, no stock
    client.force_login(executive)
    text = client.get(DOWNLOAD + "?format=csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    evil_rows = [r for r in rows if "HYPERLINK" in r["product_family"]]
    assert evil_rows
    assert all(r["product_family"] == "'=HYPERLINK(1)" for r in evil_rows)
    demand = next(r for r in evil_rows if r["measure"] == "demand")
    assert demand["value"] == "5.000000"
    # Selling 5 from no stock leaves -5: a negative number stays a plain number.
    ending = next(r for r in evil_rows if r["measure"] == "ending_inventory")
    assert ending["value"] == "-5.000000"


def test_nobody_uploads_into_a_frozen_cycle(client, stream_a, family_a, executive, settings):
    import datetime as dt

    from tests.factories import CycleFactory

    frozen = CycleFactory(month=dt.date(2026, 6, 1), status="approved")
    PlanValueFactory(cycle=frozen, product_family=family_a, value=Decimal("5"))
    client.force_login(executive)
    data = ("\n".join([",".join(HEADER), "A,A-1,2026-06,demand,6"]) + "\n").encode()
    response = client.post(
        "/cycles/2026-06/upload/",
        {"action": "preview", "file": SimpleUploadedFile("plan.csv", data)},
    )
    assert response.status_code == 409
    assert "frozen" in response.content.decode()
    assert PlanValue.objects.get(cycle=frozen).value == Decimal("5")
