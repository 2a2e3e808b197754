"""Spreadsheet hygiene for uploads and exports.

Exports: a text cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return) is treated as a formula by Excel and LibreOffice when the CSV is opened — the
"CSV injection" of OWASP. ``safe_text`` prefixes such text with an apostrophe, which
spreadsheets show as plain text. Only *text* cells (names, comments, user-typed labels)
go through it; numbers stay numbers, negative ones included, as SOFP.md's file contract
requires.

Uploads: ``validate_upload`` accepts only CSV and XLSX within ``SOFP_UPLOAD_MAX_BYTES``,
checks that the content matches the extension, and refuses XLSX files that would
decompress to something huge (a "zip bomb"). ``open_workbook`` reads cells as stored:
formulas are never evaluated, so a formula arrives as its text (``"=A1*2"``), which the
importer rejects as text in a number column (``is_formula``).
"""

from __future__ import annotations

import zipfile
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings

from sofp.errors import PayloadTooLarge, ValidationFailed

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ALLOWED_EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx"}
XLSX_MAX_EXPANSION = 50  # uncompressed size may be at most this many times the limit / 2
_ZIP_MAGIC = b"PK\x03\x04"


def safe_text(value: Any) -> str:
    """``value`` as text that a spreadsheet will never run as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def is_formula(value: Any) -> bool:
    """True for a cell read from a workbook that holds a formula rather than a value."""
    return isinstance(value, str) and value.startswith("=")


def upload_kind(name: str) -> str:
    """``"csv"`` or ``"xlsx"`` from the file name, or a clear error."""
    ext = PurePath(name or "").suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise ValidationFailed(
            f"“{name}” is not a CSV or Excel (.xlsx) file: only .csv and .xlsx files are "
            "accepted. Save the plan as .csv or .xlsx and upload it again.",
            code="bad_format",
        )
    return ALLOWED_EXTENSIONS[ext]


def validate_upload(file: IO[bytes], *, name: str, size: int | None = None) -> str:
    """Checks an uploaded file before anything reads it; returns ``"csv"`` or ``"xlsx"``.

    ``file`` must be seekable (Django's UploadedFile is); its position is restored.
    """
    kind = upload_kind(name)
    limit = settings.SOFP_UPLOAD_MAX_BYTES
    if size is None:
        pos = file.tell()
        file.seek(0, 2)
        size = file.tell()
        file.seek(pos)
    if size > limit:
        raise PayloadTooLarge(
            f"“{name}” is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.1f} MB."
        )
    if size == 0:
        raise ValidationFailed(f"“{name}” is empty.")
    pos = file.tell()
    file.seek(0)
    head = file.read(4096)
    file.seek(pos)
    if kind == "xlsx":
        if not head.startswith(_ZIP_MAGIC):
            raise ValidationFailed(f"“{name}” is not a valid .xlsx workbook.")
        _check_zip(file, name=name, limit=limit)
    elif b"\x00" in head or head.startswith(_ZIP_MAGIC):
        raise ValidationFailed(
            f"“{name}” is not a text CSV file (it looks binary — an Excel file renamed .csv?)."
        )
    return kind


def _check_zip(file: IO[bytes], *, name: str, limit: int) -> None:
    pos = file.tell()
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ValidationFailed(f"“{name}” is not a valid .xlsx workbook.") from exc
    finally:
        file.seek(pos)
    if expanded > limit * XLSX_MAX_EXPANSION // 2:
        raise ValidationFailed(f"“{name}” unpacks to {expanded / 1_048_576:.0f} MB; too large.")


def open_workbook(file: IO[bytes]):
    """An openpyxl workbook with cells as stored: no formula runs, no external links."""
    from openpyxl import load_workbook

    return load_workbook(file, read_only=True, data_only=False, keep_links=False)
