"""The DRF exception handler: every API error becomes an ApplicationError and is
rendered by the one mapper, :func:`sofp.errors.problem_response`.

Domain errors keep their own status (400/403/409); DRF's own (validation, not logged
in, throttled, unknown address…) and Django's (``ValidationError`` from ``full_clean``,
an oversized body) are translated here, their problems taken from DRF's structured
error detail (field names, row indexes, error codes) — never from a message. Anything
not handled here is a bug (a 500).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from sofp.errors import (
    ApplicationError,
    Problem,
    ValidationFailed,
    application_error,
    problem_response,
)

# Headers DRF sets on some errors (a token challenge, when to retry, what is allowed).
_KEPT_HEADERS = ("WWW-Authenticate", "Retry-After", "Allow")


def flatten(detail: Any, *, field: str | None = None, index: int | None = None) -> list[Problem]:
    """DRF's nested error detail (dicts by field, lists by row) → flat problems."""
    if isinstance(detail, dict):
        out: list[Problem] = []
        for key, value in detail.items():
            if index is None and field is None and str(key).isdigit():
                out += flatten(value, index=int(key))  # a many=True serializer's row
                continue
            name = None if key in (api_settings.NON_FIELD_ERRORS_KEY, "__all__") else str(key)
            out += flatten(value, field=name if field is None else f"{field}.{name}", index=index)
        return out
    if isinstance(detail, list):
        # A list of dicts is a many=True serializer's per-row errors.
        if detail and all(isinstance(d, dict) for d in detail):
            out = []
            for i, row in enumerate(detail):
                out += flatten(row, field=field, index=i if index is None else index)
            return out
        out = []
        for item in detail:
            out += flatten(item, field=field, index=index)
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [Problem(str(code), str(detail), index=index, field=field)]


def _translate(exc: Exception) -> ApplicationError | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return ValidationFailed("Invalid input.", problems=flatten(detail))
    if isinstance(exc, drf_exceptions.ValidationError):
        problems = flatten(exc.detail)
        return ValidationFailed(
            f"Invalid input: {len(problems)} problem(s) found; nothing was changed.",
            problems=problems,
        )
    if isinstance(exc, drf_exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else ""
        codes = exc.get_codes()
        return ApplicationError(
            str(detail) or "Request failed.",
            status=exc.status_code,
            code=codes if isinstance(codes, str) else exc.default_code,
            title=str(exc.default_detail).rstrip("."),
        )
    return application_error(exc)


def exception_handler(exc: Exception, context: dict) -> HttpResponse | None:
    drf_response = drf_exception_handler(exc, context)  # converts Http404, PermissionDenied
    error = _translate(exc)
    if error is None:
        return None
    request = context.get("request")
    response = problem_response(error, getattr(request, "_request", request))
    if drf_response is not None:
        for header in _KEPT_HEADERS:
            if header in drf_response:
                response[header] = drf_response[header]
    return response
