"""The grid's own layout in files: export ``--layout wide`` (CSV and .xlsx, computed rows
included), and import recognising it by its header (computed rows ignored, problems by
line and column, nothing written)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from planning.exports import export_csv, export_layout_bytes
from planning.imports import parse_plan
from planning.models import PlanValue
from planning.selectors.plans import cycle_export_frame
from planning.services.plan_import import plan_import
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LONG = "value_stream,product_family,month,measure,value\n"


@pytest.fixture
def planned(family_a, family_b, cycle):
    parsed = parse_plan(
        data=(
            LONG + "A,A-1,2027-01,opening_inventory,100\n"
            "A,A-1,2027-01,demand,310\n"
            "A,A-1,2027-01,production,300\n"
            "A,A-1,2027-02,demand,280.5\n"
            "A,,2027-01,available_hours,1000\n"
            "B,B-1,2027-01,demand,5\n"
            ",,2027-01,sustaining_cost,50\n"
        ).encode()
    )
    plan_import(cycle=cycle, rows=parsed.rows, user=None)
    return cycle


def wide_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_wide_export_has_one_column_per_month_and_the_long_files_numbers(planned):
    frame = cycle_export_frame(cycle=planned)
    data = export_layout_bytes(frame, fmt="csv", layout="wide")
    header, *rows = wide_rows(data)
    months = [f"2027-{m:02d}" for m in range(1, 13)] + [f"2028-{m:02d}" for m in range(1, 7)]
    assert header == ["value_stream", "product_family", "measure", *months]
    by_key = {tuple(r[:3]): dict(zip(months, r[3:], strict=True)) for r in rows}
    assert by_key[("A", "A-1", "demand")]["2027-02"] == "280.500000"
    assert by_key[("A", "A-1", "opening_inventory")]["2027-01"] == "100.000000"
    assert by_key[("A", "A-1", "opening_inventory")]["2027-02"] == ""
    # Computed rows are there to read: 100 + 300 − 310 = 90.
    assert by_key[("A", "A-1", "ending_inventory")]["2027-01"] == "90.000000"
    assert ("", "", "company_profit") in by_key and ("A", "", "utilization") in by_key
    # Every number of the long file is in the wide one, at its place.
    for r in csv.DictReader(io.StringIO(export_csv(frame).decode())):
        key = (r["value_stream"], r["product_family"], r["measure"])
        assert by_key[key][r["month"]] == r["value"]


def test_export_plan_command_writes_both_formats(planned, tmp_path):
    out = io.StringIO()
    call_command("export_plan", "--cycle", "2027-01", "--layout", "wide", stdout=out)
    assert out.getvalue().startswith("value_stream,product_family,measure,2027-01,2027-02,")
    path = tmp_path / "plan.xlsx"
    call_command(
        "export_plan",
        "--cycle",
        "2027-01",
        "--layout",
        "wide",
        "--format",
        "xlsx",
        "--output",
        str(path),
        stderr=io.StringIO(),
    )
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]][:4] == [
        "value_stream",
        "product_family",
        "measure",
        "2027-01",
    ]
    rows = {
        (r[0] or "", r[1] or "", r[2]): r[3:] for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert rows[("A", "A-1", "demand")][1] == 280.5


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_wide_file_round_trips_and_an_edit_changes_only_its_cell(planned, fmt, tmp_path):
    frame_before = cycle_export_frame(cycle=planned)
    data = export_layout_bytes(frame_before, fmt=fmt, layout="wide")
    path = tmp_path / f"plan.{fmt}"
    path.write_bytes(data)
    out = io.StringIO()
    call_command("import_plan", str(path), "--cycle", "2027-01", stdout=out)
    assert "Grid layout recognised" in out.getvalue()
    assert "row(s) of computed measures skipped" in out.getvalue()
    # The export's zeros are now stored as such: the plan (and its export) is the same,
    # and importing the file again changes nothing.
    again = export_layout_bytes(cycle_export_frame(cycle=planned), fmt="csv", layout="wide")
    assert again == export_layout_bytes(frame_before, fmt="csv", layout="wide")
    out = io.StringIO()
    call_command("import_plan", str(path), "--cycle", "2027-01", stdout=out)
    assert "0 added, 0 changed" in out.getvalue()
    # Change one number in the grid layout: exactly that cell changes.
    if fmt == "csv":
        text = data.decode().replace("A,A-1,demand,310.000000", "A,A-1,demand,333", 1)
        path.write_text(text)
    else:
        book = openpyxl.load_workbook(io.BytesIO(data))
        for row in book.active.iter_rows(min_row=2):
            if [c.value for c in row[:3]] == ["A", "A-1", "demand"]:
                row[3].value = 333
        book.save(path)
    out = io.StringIO()
    call_command("import_plan", str(path), "--cycle", "2027-01", stdout=out)
    assert "0 added, 1 changed" in out.getvalue()
    assert PlanValue.objects.get(
        cycle=planned, product_family__code="A-1", measure="demand", month="2027-01-01"
    ).value == Decimal("333")


def test_a_bad_wide_file_is_rejected_whole_with_lines_and_columns(planned, tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text(
        "value_stream,product_family,measure,2027-01,2027-02\n"
        "A,A-1,demand,1,abc\n"
        "A,NOPE,demand,5,\n"
        "A,A-1,production,-3,\n"
        "A,A-1,days_of_supply,99,99\n"
        "A,,available_hours,,1200\n"
    )
    with pytest.raises(CommandError) as info:
        call_command("import_plan", str(path), "--cycle", "2027-01", stdout=io.StringIO())
    text = str(info.value)
    assert "line 2, column 2027-02" in text and "abc" in text
    assert "line 3, column product_family" in text
    assert "line 4, column 2027-01" in text and "negative" in text
    assert "line 5" not in text  # a computed row: ignored
    assert PlanValue.objects.get(
        cycle=planned, product_family__code="A-1", measure="demand", month="2027-01-01"
    ).value == Decimal("310")
    assert not PlanValue.objects.filter(measure="available_hours", month="2027-02-01").exists()


def test_the_browser_upload_recognises_the_grid_layout(
    client, planned, planner_a, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    client.login(username=planner_a.username, password=PASSWORD)
    data = (
        b"value_stream,product_family,measure,2027-03\nA,A-1,demand,77\nA,A-1,ending_inventory,1\n"
    )
    res = client.post(
        "/cycles/2027-01/upload/",
        {"action": "preview", "file": SimpleUploadedFile("grid.csv", data)},
    )
    assert res.status_code == 200
    preview = res.context["preview"]
    assert (preview.added, preview.computed_skipped) == (1, 1)
    res = client.post(
        "/cycles/2027-01/upload/", {"action": "confirm", "token": res.context["token"]}
    )
    assert res.status_code == 302
    assert PlanValue.objects.get(cycle=planned, measure="demand", month="2027-03-01").value == 77
    # The download button of the grid layout.
    res = client.get("/cycles/2027-01/download/?format=xlsx&layout=wide")
    assert res.status_code == 200
    assert res["Content-Disposition"] == 'attachment; filename="sofp-plan-2027-01-grid.xlsx"'
    assert client.get("/cycles/2027-01/download/?format=csv&layout=tall").status_code == 400
