"""Formula injection in exports and hostile uploads (sofp/spreadsheet_safety.py)."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from sofp.errors import ValidationFailed
from sofp.spreadsheet_safety import (
    is_formula,
    open_workbook,
    safe_text,
    validate_upload,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tleading tab", "'\tleading tab"),
        ("Centrifugal pumps", "Centrifugal pumps"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_safe_text_escapes_only_text_a_spreadsheet_would_run(text, expected):
    assert safe_text(text) == expected


def test_safe_text_of_none_is_empty():
    assert safe_text(None) == ""


def _upload(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_csv_and_xlsx_are_accepted():
    assert validate_upload(_upload(b"a,b\n1,2\n"), name="plan.CSV") == "csv"
    book = io.BytesIO()
    Workbook().save(book)
    assert validate_upload(book, name="plan.xlsx") == "xlsx"
    assert book.tell() == len(book.getvalue())  # position restored after the check


@pytest.mark.parametrize("name", ["plan.xls", "plan.xlsm", "plan.exe", "plan", "plan.csv.exe"])
def test_other_file_types_are_refused_with_the_file_name(name):
    with pytest.raises(ValidationFailed, match="not a CSV or Excel"):
        validate_upload(_upload(b"a,b\n"), name=name)


def test_a_file_above_the_size_limit_is_refused(settings):
    settings.SOFP_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(ValidationFailed, match="limit is"):
        validate_upload(_upload(b"x" * 1001), name="big.csv")


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationFailed, match="empty"):
        validate_upload(_upload(b""), name="plan.csv")


def test_a_binary_file_named_csv_is_refused():
    book = io.BytesIO()
    Workbook().save(book)
    with pytest.raises(ValidationFailed, match="not a text CSV"):
        validate_upload(io.BytesIO(book.getvalue()), name="plan.csv")


def test_a_text_file_named_xlsx_is_refused():
    with pytest.raises(ValidationFailed, match=r"not a valid \.xlsx"):
        validate_upload(_upload(b"a,b\n1,2\n"), name="plan.xlsx")


def test_an_xlsx_that_unpacks_to_something_huge_is_refused(settings):
    settings.SOFP_UPLOAD_MAX_BYTES = 100_000
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(ValidationFailed, match="unpacks to"):
        validate_upload(bomb, name="plan.xlsx")


def test_formulas_in_an_uploaded_workbook_arrive_as_text_never_evaluated():
    book = Workbook()
    sheet = book.active
    sheet.append(["value_stream", "value"])
    sheet.append(["PUMPS", "=1+1"])
    sheet.append(["PUMPS", 42])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    rows = list(open_workbook(data).active.iter_rows(values_only=True))
    assert rows[1] == ("PUMPS", "=1+1")
    assert is_formula(rows[1][1])
    assert rows[2][1] == 42
    assert not is_formula(rows[2][1])
