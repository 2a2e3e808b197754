"""Plan files in the browser: upload → preview → confirm, and download.

Thin: the parser, ``plan_import`` (always a dry run first) and the export selector do
the work; these views move bytes, keep the staged file between preview and confirm,
and render.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from planning.exports import CONTENT_TYPES, export_bytes, export_filename
from planning.imports import FORMATS, parse_plan
from planning.models import PlanningCycle
from planning.selectors.plans import cycle_export_frame, cycle_get_by_label
from planning.services.plan_import import plan_import
from planning.uploads import upload_discard, upload_get, upload_stage
from sofp.exceptions import ApplicationError, FrozenCycleError, ValidationFailed
from valuestreams.roles import user_can_edit_company_values, user_reads_all_streams
from valuestreams.selectors import value_streams_editable, value_streams_visible

ACCEPTED_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS)
MAX_ERRORS_SHOWN = 200


def _cycle_or_404(month: str) -> PlanningCycle:
    cycle = cycle_get_by_label(month)
    if cycle is None:
        raise Http404(f"There is no cycle {month}.")
    return cycle


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _page(request: HttpRequest, cycle: PlanningCycle, status: int = 200, **context) -> HttpResponse:
    can_upload = value_streams_editable(user=request.user).exists() or (
        user_can_edit_company_values(user=request.user)
    )
    errors = context.pop("errors", [])
    return render(
        request,
        "planning/upload.html",
        {
            "cycle": cycle,
            "can_upload": can_upload,
            "max_bytes": settings.SOFP_UPLOAD_MAX_BYTES,
            "max_size": _megabytes(settings.SOFP_UPLOAD_MAX_BYTES),
            "accept": ",".join(ACCEPTED_SUFFIXES),
            "errors": errors[:MAX_ERRORS_SHOWN],
            "errors_total": len(errors),
            "errors_hidden": max(0, len(errors) - MAX_ERRORS_SHOWN),
            **context,
        },
        status=status,
    )


def _problem_response(
    request: HttpRequest, cycle: PlanningCycle, exc: ApplicationError, filename: str
) -> HttpResponse:
    if isinstance(exc, ValidationFailed):
        errors = exc.errors
    else:
        errors = exc.extra.get("errors") or [exc.message]
    return _page(request, cycle, status=exc.status, errors=errors, filename=filename)


def _check(
    request: HttpRequest, cycle: PlanningCycle, data: bytes, filename: str, *, dry_run: bool
):
    parsed = parse_plan(data=data, filename=filename)
    return plan_import(
        cycle=cycle,
        rows=parsed.rows,
        user=request.user,
        dry_run=dry_run,
        parse_errors=parsed.errors,
        computed_skipped=parsed.computed_skipped,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_upload(request: HttpRequest, month: str) -> HttpResponse:
    cycle = _cycle_or_404(month)
    if request.method == "GET":
        return _page(request, cycle)
    action = request.POST.get("action", "preview")
    if action in ("confirm", "cancel"):
        return _upload_decide(request, cycle, action)
    if cycle.is_frozen:
        exc = FrozenCycleError(
            f"Cycle {cycle.label} is approved and frozen; its plan cannot be changed."
        )
        return _problem_response(request, cycle, exc, "")

    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, cycle, status=400, errors=["Choose a .csv or .xlsx file to upload."])
    name = Path(upload.name or "").name
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        return _page(
            request,
            cycle,
            status=400,
            filename=name,
            errors=[f"{name}: only .csv and .xlsx files are accepted."],
        )
    if upload.size > settings.SOFP_UPLOAD_MAX_BYTES:
        return _page(
            request,
            cycle,
            status=413,
            filename=name,
            errors=[
                f"{name} is {_megabytes(upload.size)}; the limit is "
                f"{_megabytes(settings.SOFP_UPLOAD_MAX_BYTES)}."
            ],
        )
    data = upload.read()
    try:
        preview = _check(request, cycle, data, name, dry_run=True)
    except ApplicationError as exc:
        return _problem_response(request, cycle, exc, name)
    token = upload_stage(session=request.session, data=data, filename=name, cycle_label=cycle.label)
    return _page(request, cycle, preview=preview, token=token, filename=name, size=len(data))


def _upload_decide(request: HttpRequest, cycle: PlanningCycle, action: str) -> HttpResponse:
    token = request.POST.get("token", "")
    staged = upload_get(session=request.session, token=token, cycle_label=cycle.label)
    if staged is None:
        messages.warning(
            request, "That upload has expired or was already used; upload the file again."
        )
        return redirect("plan_upload", month=cycle.label)
    data, info = staged
    if action == "cancel":
        upload_discard(session=request.session, token=token)
        messages.info(request, f"{info['name']} was not imported.")
        return redirect("plan_upload", month=cycle.label)
    try:
        result = _check(request, cycle, data, info["name"], dry_run=False)
    except ApplicationError as exc:
        # The plan, the cycle or the user's rights changed since the preview: say why,
        # write nothing, and let the planner upload again.
        upload_discard(session=request.session, token=token)
        return _problem_response(request, cycle, exc, info["name"])
    upload_discard(session=request.session, token=token)
    messages.success(
        request, f"{info['name']} imported into cycle {cycle.label}: {result.summary()}."
    )
    return redirect("plan_upload", month=cycle.label)


@login_required
@require_http_methods(["GET", "HEAD"])
def plan_download(request: HttpRequest, month: str) -> HttpResponse:
    cycle = _cycle_or_404(month)
    fmt = request.GET.get("format", "csv").lower()
    if fmt not in FORMATS:
        return HttpResponseBadRequest("format must be csv or xlsx", content_type="text/plain")
    if (
        not user_reads_all_streams(request.user)
        and not value_streams_visible(user=request.user).exists()
    ):
        return HttpResponse(
            "You are not a member of any value stream, so there is nothing to download.",
            status=403,
            content_type="text/plain",
        )
    data = export_bytes(cycle_export_frame(cycle=cycle, user=request.user), fmt=fmt)
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    filename = export_filename(label=cycle.label, fmt=fmt)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
