"""Request-scoped middleware: request ids for logs and the security headers Django lacks."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from sofp.log import current_request_var, request_id_var

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the proxy (or makes a uuid4) and echoes it back.

    The id goes into a context variable that the logging filter reads, so every log line
    of a request carries it. An id that looks odd (too long, strange characters) is
    replaced rather than trusted, because it ends up in logs.
    """

    header = "X-Request-ID"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(self.header, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        id_token = request_id_var.set(request_id)
        request_token = current_request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            current_request_var.reset(request_token)
        response[self.header] = request_id
        return response


class SecurityHeadersMiddleware:
    """Content-Security-Policy with a per-request nonce, and Permissions-Policy.

    Django's own middleware already sends X-Content-Type-Options, Referrer-Policy,
    Cross-Origin-Opener-Policy (SecurityMiddleware) and X-Frame-Options
    (XFrameOptionsMiddleware). The policy comes from ``settings.SOFP_CSP`` (directive ->
    sources); the placeholder ``'nonce'`` in a directive becomes ``'nonce-<random>'``,
    the same value templates read as ``request.csp_nonce``. Paths matching
    ``settings.SOFP_CSP_RELAXED_PATHS`` (third-party pages such as the API docs that ship
    an inline bootstrap script) get ``'unsafe-inline'`` scripts instead of the nonce.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.relaxed = [re.compile(p) for p in getattr(settings, "SOFP_CSP_RELAXED_PATHS", [])]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce
        response = self.get_response(request)
        relaxed = any(p.match(request.path_info.lstrip("/")) for p in self.relaxed)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = build_csp(nonce=nonce, relaxed=relaxed)
        permissions = getattr(settings, "SOFP_PERMISSIONS_POLICY", "")
        if permissions and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


def build_csp(*, nonce: str, relaxed: bool = False) -> str:
    parts = []
    for directive, sources in settings.SOFP_CSP.items():
        values = []
        for source in sources:
            if source == "'nonce'":
                values.append("'unsafe-inline'" if relaxed else f"'nonce-{nonce}'")
            else:
                values.append(source)
        parts.append(" ".join([directive, *values]).strip())
    return "; ".join(parts)
