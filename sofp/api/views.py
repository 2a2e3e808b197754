"""The base of every API view, the catch-all 404, and the documented error answers.

Views of every app derive from :class:`ApiView` (token first, JSON; errors always JSON,
even when a file format was asked for). The ``E4xx`` responses document the one error
shape (:mod:`sofp.api.exceptions`) in the OpenAPI schema.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sofp.api.serializers import ErrorSerializer
from sofp.auth import ExpiringTokenAuthentication
from sofp.errors import Problem, ValidationFailed

JSON_RENDERERS = [JSONRenderer, BrowsableAPIRenderer]


def error_response(description: str, serializer: type = ErrorSerializer) -> OpenApiResponse:
    """An error answer for ``extend_schema(responses=…)``."""
    return OpenApiResponse(serializer, description=description)


E400 = error_response("Bad input: every problem listed with its row index and field.")
E401 = error_response("Not authenticated (send 'Authorization: Token …' or log in).")
E403 = error_response("Authenticated, but not allowed (not your value stream, not an executive).")
E404 = error_response("No such cycle (or not a real month).")
E413 = error_response(
    "The request body is larger than the server accepts; send fewer rows per request."
)
E415 = error_response("The body must be JSON (Content-Type: application/json).")
E429 = error_response("Too many requests; retry after the Retry-After seconds.")
READ_ERRORS = {401: E401, 403: E403, 404: E404, 429: E429}


class ApiView(APIView):
    """Base of every SOFP API view: token first (401 with a challenge for scripts),
    ETags on reads, an unknown ``format`` is a 400."""

    authentication_classes = [ExpiringTokenAuthentication, SessionAuthentication]
    renderer_classes = JSON_RENDERERS

    def perform_content_negotiation(self, request: Request, force: bool = False):
        return negotiate_or_400(super().perform_content_negotiation, request, force)

    def dispatch(self, request, *args: Any, **kwargs: Any):
        return etag_response(request, super().dispatch(request, *args, **kwargs))

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # Errors are JSON even when a file (CSV, XLSX) was asked for.
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is not None and not isinstance(renderer, JSONRenderer | BrowsableAPIRenderer):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response


def negotiate_or_400(negotiate, request: Request, force: bool):
    """DRF answers an unknown ``?format=`` with 404; it is bad input: 400, naming the
    formats there are."""
    try:
        return negotiate(request, force)
    except Http404:
        if force:
            raise
        fmt = str(request.query_params.get("format", ""))[:20]
        message = f"unknown format {fmt!r}; use json, csv or xlsx where the endpoint offers them"
        raise ValidationFailed(
            message, problems=[Problem("unknown_format", message, field="format")]
        ) from None


def etag_response(request, response: HttpResponse) -> HttpResponse:
    """A strong ``ETag`` on every successful read (a hash of the body as sent), and
    ``304 Not Modified`` when the client's ``If-None-Match`` names it: a sync loop
    polls cheaply. Bodies differ per user, so caches must keep them apart."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if getattr(response, "streaming", False):
        return response
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ("Authorization", "Cookie"))
    wanted = request.headers.get("If-None-Match", "")
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",") if t.strip()}
    if etag in tags or "*" in tags:
        not_modified = HttpResponseNotModified()
        for header in ("ETag", "Cache-Control", "Vary"):
            not_modified[header] = response[header]
        return not_modified
    return response


_INDEX: list[dict[str, Any]] = []


def api_endpoints() -> list[dict[str, Any]]:
    """Every documented endpoint (path, methods, summary), from the OpenAPI schema.

    Built once per process: the routes do not change while it runs.
    """
    if not _INDEX:
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
        for route, operations in sorted(schema.get("paths", {}).items()):
            methods = [
                m.upper() for m in operations if m in {"get", "post", "put", "patch", "delete"}
            ]
            first = next(iter(operations.values()), {})
            _INDEX.append(
                {
                    "path": route,
                    "methods": methods,
                    "summary": first.get("summary") or first.get("description", "").split("\n")[0],
                }
            )
    return _INDEX


class ApiIndexView(ApiView):
    """``/api/v1/``: what the API offers (every endpoint) and where its schema lives."""

    permission_classes: list = []
    schema = None  # the index itself is not an endpoint of the schema

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(
            {
                "name": "SOFP API",
                "version": "v1",
                "authentication": "Authorization: Token <key> (or a signed-in session)",
                "schema": request.build_absolute_uri("/api/v1/schema/"),
                "docs": request.build_absolute_uri("/api/v1/docs/"),
                "endpoints": api_endpoints(),
            }
        )


class NotFoundView(ApiView):
    """Unknown ``/api/v1/…`` addresses answer in the API's JSON error shape."""

    permission_classes: list = []
    schema = None  # not an endpoint

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(f"No API endpoint at {request.path}.")

    post = put = patch = delete = get
