"""Error pages that never make things worse.

The 500 handler touches neither the database nor the session (the database may be the
reason for the error), answers JSON to API clients and a plain page to people, and
always carries the request id so a user can quote it to support.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from sofp.log import request_id_var


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def _page(template: str, status: int, context: dict) -> HttpResponse:
    # Rendered without the request: no context processor may hit the database here.
    html = loader.get_template(template).render(context)
    return HttpResponse(html, status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    request_id = getattr(request, "request_id", None) or request_id_var.get()
    if _wants_json(request):
        return JsonResponse(
            {
                "detail": "The server could not complete this request. Nothing was saved; "
                "please try again in a moment.",
                "request_id": request_id,
            },
            status=500,
        )
    return _page("500.html", 500, {"request_id": request_id})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"detail": "Your session's security token is missing or stale; reload and retry."},
            status=403,
        )
    return _page("403_csrf.html", 403, {"request_id": getattr(request, "request_id", "")})
