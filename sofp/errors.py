"""Errors are data: the ApplicationError family, the problems they carry, and the one
mapper that renders them at every edge.

Services raise an :class:`ApplicationError` (or a subclass) whose ``problems`` say, each
as a :class:`Problem`, what is wrong (``code``, ``message``) and where: ``index`` (the
row of an API request, the cell of a grid save), ``line``/``column`` (a file), ``field``
(an input field) and the plan cell (value stream, family, month, measure). Nobody parses
a message back; the edges only render:

* :func:`problem_response` — RFC 9457 problem JSON (``application/problem+json``:
  ``type``, ``title``, ``status``, ``detail``, ``instance``, ``errors`` and the error's
  own members such as ``conflicts``) for the API and the grid's JSON endpoints;
* :func:`problem_lines` / :func:`problem_messages` — the same problems as lines of text
  for pages (Django messages, an error list);
* :func:`command_error` — a ``CommandError`` listing the problems by line.

:func:`json_endpoint` and :func:`json_body` give plain Django views the API's behaviour
for bad bodies (400/413 problem JSON, never a 500 or an HTML page), and the error
handlers at the bottom (404, 400, 403, 500, CSRF) answer JSON to JSON clients too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.management.base import CommandError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults

from sofp.log import request_id_var

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:sofp:problem:"
MAX_JSON_DEPTH = 64


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where it is."""

    code: str
    message: str
    index: int | None = None
    line: int | None = None
    column: str | None = None
    field: str | None = None
    value_stream: str | None = None
    product_family: str | None = None
    month: str | None = None
    measure: str | None = None

    @property
    def where(self) -> str:
        """``line 3, column value``, ``row 2`` or the field: how people name the place."""
        if self.line is not None:
            return f"line {self.line}" + (f", column {self.column}" if self.column else "")
        if self.index is not None:
            return f"row {self.index}"
        return self.field or ""

    @property
    def text(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, Any]:
        """The JSON item: ``index``, ``field``, ``code``, ``message`` always, the rest
        (``line``, ``column``, the cell) when known."""
        out: dict[str, Any] = {
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in out and value is not None:
                out[f.name] = value
        return out


def problems_sorted(problems: Iterable[Problem]) -> list[Problem]:
    """Whole-input problems first, then by line; each problem once, order kept within a line."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: p.line or 0)


# --------------------------------------------------------------------------- errors


class ApplicationError(Exception):
    """A business rule said no. ``status`` is the HTTP code the edges use; ``code`` and
    ``title`` name the kind of problem (the problem JSON's ``type`` and ``title``).

    The class attributes may be overridden per instance: the edges translate framework
    errors (not logged in, throttled…) into this family so one mapper renders them.
    """

    status: int = 400
    code: str = "rejected"
    title: str = "The request was refused"

    def __init__(
        self,
        message: str,
        *,
        problems: Iterable[Problem] = (),
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title

    @property
    def errors(self) -> list[str]:
        """Every problem as a line of text."""
        return [p.text for p in self.problems]

    def extensions(self) -> dict[str, Any]:
        """Members the problem JSON carries besides the standard ones."""
        return {}


class ValidationFailed(ApplicationError):
    """Input was rejected as a whole; ``problems`` lists every problem once."""

    status = 400
    code = "invalid"
    title = "Invalid input"

    def __init__(self, message: str, *, problems: Iterable[Problem] = (), **kw: Any) -> None:
        problems = list(problems) or [Problem(kw.get("code") or self.code, message)]
        super().__init__(message, problems=problems, **kw)

    @classmethod
    def of_field(cls, field: str, message: str, *, code: str = "invalid") -> ValidationFailed:
        """One bad input field (a page shows it as ``field: message``)."""
        problem = Problem(code, message, field=field)
        return cls(problem.text, problems=[problem])


class PermissionDenied(ApplicationError):
    """The user may not do this to this value stream or cycle."""

    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    title = "Not found"


class FrozenCycleError(ApplicationError):
    """The cycle is approved, so its plan never changes again."""

    status = 409
    code = "frozen"
    title = "The cycle is approved and frozen"

    def extensions(self) -> dict[str, Any]:
        return {"frozen": True}


class VersionConflict(ApplicationError):
    """Someone else changed what the user saw; ``conflicts`` holds the current values."""

    status = 409
    code = "version_conflict"
    title = "Changed by someone else in the meantime"

    def __init__(self, message: str, *, conflicts: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.conflicts = conflicts

    def extensions(self) -> dict[str, Any]:
        return {"conflicts": self.conflicts}


class PayloadTooLarge(ValidationFailed):
    """A body or a file over its size limit (the input is refused as a whole)."""

    status = 413
    code = "too_large"
    title = "The request body is too large"

    def __init__(self, message: str = "", **kw: Any) -> None:
        super().__init__(
            message
            or f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; "
            "send fewer rows per request.",
            **kw,
        )


def application_error(exc: BaseException) -> ApplicationError | None:
    """The Django exceptions the edges meet, as members of the family (None: a bug)."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, Http404):
        return NotFound(str(exc) or "Not found.")
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied(str(exc) or "You may not do this.")
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return ApplicationError("The request was malformed.", code="bad_request")
    return None


# --------------------------------------------------------------------------- the mapper


def problem_body(exc: ApplicationError, *, instance: str = "", **members: Any) -> dict[str, Any]:
    """RFC 9457 problem details of ``exc``: ``detail`` and ``errors`` as before, plus
    ``type``, ``title``, ``status``, ``instance`` and the error's own members."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + exc.code,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.message,
        "errors": [p.as_dict() for p in exc.problems],
    }
    if instance:
        body["instance"] = instance
    body.update(exc.extensions())
    body.update(members)
    return body


def problem_response(
    exc: ApplicationError, request: HttpRequest | None = None, **members: Any
) -> HttpResponse:
    """``exc`` as an ``application/problem+json`` response with its HTTP status."""
    instance = request.get_full_path() if request is not None else ""
    return JsonResponse(
        problem_body(exc, instance=instance, **members),
        status=exc.status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_lines(exc: ApplicationError) -> list[str]:
    """What a page shows: every problem on its own line, or the message alone."""
    return exc.errors or [exc.message]


def problem_messages(request: HttpRequest, exc: ApplicationError) -> None:
    """Every problem as a Django error message on the next page the user sees."""
    for line in problem_lines(exc):
        messages.error(request, line)


def problem_page(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """``exc`` as a page for people (``problem.html``), or problem JSON for JSON clients."""
    if wants_json(request):
        return problem_response(exc, request)
    context = {"title": exc.title, "detail": exc.message, "lines": problem_lines(exc)}
    return render(request, "problem.html", context, status=exc.status)


class ApplicationErrorMiddleware:
    """Any ApplicationError a page lets escape is answered by the mapper (never a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return problem_page(request, exception)
        return None


def command_error(exc: ApplicationError, *, source: str = "") -> CommandError:
    """A CommandError (exit code 1, no traceback) listing every problem on its own line."""
    prefix = f"{source}: " if source else ""
    if not exc.problems:
        return CommandError(prefix + exc.message)
    lines = "\n".join(f"  {p.text}" for p in exc.problems)
    return CommandError(f"{prefix}{len(exc.problems)} problem(s); nothing was saved.\n{lines}")


# --------------------------------------------------------------------------- JSON views


def json_parse(data: bytes) -> Any:
    """A request body as JSON: strict UTF-8, at most ``MAX_JSON_DEPTH`` levels deep.

    Raises ValidationFailed (400) with a plain reason for anything else, so no body can
    turn into a 500.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"The request body is not UTF-8 text (byte 0x{data[exc.start]:02x} at {exc.start}).",
            code="not_utf8",
        ) from None
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        deep = True
    except ValueError as exc:
        raise ValidationFailed(
            f"The request body is not valid JSON ({exc}).", code="malformed_json"
        ) from None
    else:
        deep = _too_deep(value)
    if deep:
        raise ValidationFailed(
            f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.",
            code="too_deep",
        )
    return value


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object a plain Django view was sent (413 when over the upload limit)."""
    try:
        data = request.body or b"{}"
    except RequestDataTooBig:
        raise PayloadTooLarge() from None
    body = json_parse(data)
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.", code="not_an_object")
    return body


def json_endpoint(*methods: str) -> Callable:
    """A plain Django view that speaks JSON: 401 when not logged in (no redirect), 405
    for other methods, and every ApplicationError, 404 or oversized body as problem JSON."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return problem_response(
                    ApplicationError(
                        "Log in first (your session may have ended).",
                        status=401,
                        code="not_authenticated",
                        title="Not logged in",
                    ),
                    request,
                )
            if request.method not in methods:
                response = problem_response(
                    ApplicationError(
                        f"Use {' or '.join(methods)} here.",
                        status=405,
                        code="method_not_allowed",
                        title="Method not allowed",
                    ),
                    request,
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, *args, **kwargs)
            except Exception as exc:
                error = application_error(exc)
                if error is None:
                    raise
                return problem_response(error, request)

        return wrapper

    return decorate


# --------------------------------------------------------------------------- error pages
# The handlers never make things worse: the 500 touches neither the database nor the
# session (the database may be the reason for the error), JSON clients get problem
# JSON, people a plain page, and the 500 carries the request id to quote to support.


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    content_type = request.headers.get("Content-Type", "")
    return (
        request.path.startswith("/api/")
        or ("json" in accept and "text/html" not in accept)
        or content_type.startswith("application/json")
    )


def _page(template: str, status: int, context: dict) -> HttpResponse:
    # Rendered without the request: no context processor may hit the database here.
    html = loader.get_template(template).render(context)
    return HttpResponse(html, status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    request_id = getattr(request, "request_id", None) or request_id_var.get()
    if wants_json(request):
        error = ApplicationError(
            "The server could not complete this request. Nothing was saved; "
            "please try again in a moment.",
            status=500,
            code="server_error",
            title="Server error",
        )
        return problem_response(error, request, request_id=request_id)
    return _page("500.html", 500, {"request_id": request_id})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if wants_json(request):
        error = PermissionDenied(
            "Your session's security token is missing or stale; reload and retry.",
            code="csrf",
        )
        return problem_response(error, request)
    return _page("403_csrf.html", 403, {"request_id": getattr(request, "request_id", "")})


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if wants_json(request):
        error = application_error(exception) or ApplicationError("The request was malformed.")
        return problem_response(error, request)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if wants_json(request):
        return problem_response(application_error(exception), request)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    reason = exception.args[0] if exception.args and isinstance(exception.args[0], str) else ""
    if wants_json(request):
        return problem_response(NotFound(reason or f"Nothing at {request.path}."), request)
    # The view's own words (e.g. which cycles exist) on the friendly page; a URL that
    # matches nothing gets the general text.
    return render(request, "404.html", {"reason": reason, "request_path": request.path}, status=404)
