"""Plan files in the browser: upload → preview → confirm, and download.

Thin: the parser, ``plan_import`` (always a dry run first) and the export selector do
the work; these views move bytes, keep the staged file between preview and confirm,
and render.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from planning.exports import (
    CONTENT_TYPES,
    LAYOUTS,
    LONG,
    export_layout_bytes,
    export_layout_filename,
)
from planning.imports import parse_plan
from planning.models import PlanningCycle, cycle_scenario
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.plans import (
    cycle_export_frame,
    cycle_or_404,
    plan_rights,
)
from planning.selectors.scenarios import cycle_with_scenario
from planning.services.plan_import import plan_import
from planning.uploads import upload_discard, upload_get, upload_stage
from sofp.errors import ApplicationError, PermissionDenied, ValidationFailed, problem_lines
from sofp.spreadsheet_safety import validate_upload
from sofp.tables import FORMATS
from valuestreams.roles import user_reads_all_streams
from valuestreams.selectors import value_streams_visible

ACCEPTED_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS)
MAX_ERRORS_SHOWN = 200


def _cycle_or_404(month: str, request: HttpRequest | None = None) -> PlanningCycle:
    """The cycle, seen through ``?scenario=NAME`` when the request names one (the same
    upload and download serve a scenario's cells)."""
    cycle = cycle_or_404(month)
    if request is not None:
        cycle = cycle_with_scenario(cycle=cycle, name=request.GET.get("scenario", ""))
    return cycle


def _stage_label(cycle: PlanningCycle) -> str:
    scenario = cycle_scenario(cycle)
    return cycle.label if scenario is None else f"{cycle.label}/{scenario.name}"


def _back(cycle: PlanningCycle) -> HttpResponse:
    scenario = cycle_scenario(cycle)
    url = reverse("plan_upload", args=[cycle.label])
    return redirect(url + (f"?{urlencode({'scenario': scenario.name})}" if scenario else ""))


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _page(request: HttpRequest, cycle: PlanningCycle, status: int = 200, **context) -> HttpResponse:
    can_upload = plan_rights(user=request.user).any
    errors = context.pop("errors", [])
    return render(
        request,
        "planning/upload.html",
        {
            "cycle": cycle,
            "scenario": cycle_scenario(cycle),
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


def _refused(
    request: HttpRequest, cycle: PlanningCycle, exc: ApplicationError, filename: str
) -> HttpResponse:
    """The upload page again, with every problem listed and the error's HTTP status."""
    return _page(request, cycle, status=exc.status, errors=problem_lines(exc), filename=filename)


def _uploaded_file(request: HttpRequest) -> tuple[str, bytes]:
    """The chosen file's name and bytes, checked by ``validate_upload`` (only CSV and
    XLSX, within the size limit, content matching the name, no zip bomb)."""
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationFailed("Choose a .csv or .xlsx file to upload.", code="no_file")
    name = Path(upload.name or "").name
    validate_upload(upload, name=name, size=upload.size)
    return name, upload.read()


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
    cycle = _cycle_or_404(month, request)
    if request.method == "GET":
        return _page(request, cycle)
    action = request.POST.get("action", "preview")
    if action in ("confirm", "cancel"):
        return _upload_decide(request, cycle, action)
    name = Path(getattr(request.FILES.get("file"), "name", "") or "").name
    try:
        cycle_refuse_frozen(cycle)
        name, data = _uploaded_file(request)
        preview = _check(request, cycle, data, name, dry_run=True)
    except ApplicationError as exc:
        return _refused(request, cycle, exc, name)
    token = upload_stage(
        session=request.session, data=data, filename=name, cycle_label=_stage_label(cycle)
    )
    return _page(request, cycle, preview=preview, token=token, filename=name, size=len(data))


def _upload_decide(request: HttpRequest, cycle: PlanningCycle, action: str) -> HttpResponse:
    token = request.POST.get("token", "")
    staged = upload_get(session=request.session, token=token, cycle_label=_stage_label(cycle))
    if staged is None:
        messages.warning(
            request, "That upload has expired or was already used; upload the file again."
        )
        return _back(cycle)
    data, info = staged
    if action == "cancel":
        upload_discard(session=request.session, token=token)
        messages.info(request, f"{info['name']} was not imported.")
        return _back(cycle)
    try:
        result = _check(request, cycle, data, info["name"], dry_run=False)
    except ApplicationError as exc:
        # The plan, the cycle or the user's rights changed since the preview: say why,
        # write nothing, and let the planner upload again.
        upload_discard(session=request.session, token=token)
        return _refused(request, cycle, exc, info["name"])
    upload_discard(session=request.session, token=token)
    messages.success(
        request, f"{info['name']} imported into cycle {cycle.label}: {result.summary()}."
    )
    return _back(cycle)


@login_required
@require_http_methods(["GET", "HEAD"])
def plan_download(request: HttpRequest, month: str) -> HttpResponse:
    cycle = _cycle_or_404(month, request)
    fmt = request.GET.get("format", "csv").lower()
    if fmt not in FORMATS:
        raise ValidationFailed("format must be csv or xlsx", code="bad_format")
    if not user_reads_all_streams(request.user) and not (
        value_streams_visible(user=request.user).exists()
    ):
        raise PermissionDenied(
            "You are not a member of any value stream, so there is nothing to download."
        )
    layout = request.GET.get("layout", LONG).lower()
    if layout not in LAYOUTS:
        raise ValidationFailed("layout must be long or wide", code="bad_layout")
    frame = cycle_export_frame(cycle=cycle, user=request.user)
    data = export_layout_bytes(frame, fmt=fmt, layout=layout)
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    scenario = cycle_scenario(cycle)
    label = cycle.label if scenario is None else f"{cycle.label}-{scenario.name}"
    filename = export_layout_filename(label=label, fmt=fmt, layout=layout)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
