"""The one DRF exception handler: every API error is ``{"detail", "errors"[, "conflicts"]}``.

``errors`` lists every problem as ``{"index", "field", "message"}``: ``index`` is the
row of a bulk request (services label rows ``"row 3"``) or null, ``field`` the input
field the problem is about or null. Domain errors (:class:`sofp.exceptions.ApplicationError`)
keep their own HTTP status (400/403/409); anything not handled here is a bug (a 500).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from sofp.exceptions import ApplicationError, VersionConflict

ROW_RE = re.compile(r"^row (\d+): (.*)$", re.DOTALL)

# Which input field a service message is about; the first pattern that matches wins.
_FIELD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), f)
    for p, f in (
        (r"unknown measure", "measure"),
        (
            r"unknown value stream|not a planner of value stream|needs a value stream",
            "value_stream",
        ),
        (r"product family|takes no value stream or family", "product_family"),
        (r"outside the horizon|belongs to the cycle's first month", "month"),
        (r"^value |must not be negative|finite number|too large", "value"),
        (r"company-wide values", "value_stream"),
    )
)


def error_item(text: str, *, field: str | None = None, index: int | None = None) -> dict:
    """``"row 3: unknown measure 'x'"`` → ``{"index": 3, "field": "measure", "message": …}``."""
    match = ROW_RE.match(text)
    if match:
        index, text = int(match.group(1)), match.group(2)
    if field is None:
        field = next((f for p, f in _FIELD_PATTERNS if p.search(text)), None)
    return {"index": index, "field": field, "message": text}


def _flatten(detail: Any, *, field: str | None = None, index: int | None = None) -> list[dict]:
    """DRF's nested error detail (dicts by field, lists by row) → flat error items."""
    if isinstance(detail, dict):
        out: list[dict] = []
        for key, value in detail.items():
            if index is None and field is None and str(key).isdigit():
                out += _flatten(value, index=int(key))  # a many=True serializer's row
                continue
            name = None if key in (api_settings.NON_FIELD_ERRORS_KEY, "__all__") else str(key)
            out += _flatten(value, field=name if field is None else f"{field}.{name}", index=index)
        return out
    if isinstance(detail, list):
        # A list of dicts is a many=True serializer's per-row errors.
        if detail and all(isinstance(d, dict) for d in detail):
            out = []
            for i, row in enumerate(detail):
                out += _flatten(row, field=field, index=i if index is None else index)
            return out
        out = []
        for item in detail:
            out += _flatten(item, field=field, index=index)
        return out
    return [{"index": index, "field": field, "message": str(detail)}]


def _payload(detail: str, errors: Iterable[dict] = (), **extra: Any) -> dict:
    return {"detail": detail, "errors": list(errors), **extra}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        texts = getattr(exc, "errors", None) or exc.extra.get("errors") or []
        extra: dict[str, Any] = {}
        if isinstance(exc, VersionConflict):
            extra["conflicts"] = [
                {**c, "index": error_item(f"{c.get('label', '')}: x")["index"]}
                for c in exc.conflicts
            ]
        return Response(
            _payload(exc.message, (error_item(t) for t in texts), **extra), status=exc.status
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            _payload(
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; "
                "send fewer rows per request."
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return Response(
            _payload("Invalid input.", _flatten(detail)), status=status.HTTP_400_BAD_REQUEST
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = f"Invalid input: {len(errors)} problem(s) found; nothing was changed."
        response.data = _payload(detail, errors)
    else:
        data = response.data
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        response.data = _payload(str(detail) or "Request failed.")
    return response
