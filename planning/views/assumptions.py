"""The assumption register of a cycle: the page (list, filter, create, edit, status),
its CSV, and the grid's JSON endpoint (side panel, markers, create from a cell or range).

Thin: parse the form or body, call one service or selector, render. A refused action
re-renders with the message and the error's status (400, 403, 409).
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from planning.calendar import parse_month
from planning.measures import MEASURE_LABELS
from planning.models import ASSUMPTION_MEASURES, Assumption, AssumptionStatus, PlanningCycle
from planning.selectors.assumptions import (
    assumption_csv_rows,
    assumption_dict,
    assumption_filters,
    assumption_history,
    assumption_rights,
    assumptions_filtered,
    assumptions_of_stream,
    assumptions_visible,
)
from planning.selectors.grid import grid_access
from planning.selectors.plans import cycle_or_404
from planning.services.assumptions import (
    assumption_create,
    assumption_delete,
    assumption_update,
    assumptions_import,
)
from planning.services.decisions import user_resolve
from sofp.errors import (
    ApplicationError,
    ValidationFailed,
    json_body,
    json_endpoint,
    problem_messages,
)
from sofp.spreadsheet_safety import safe_text, validate_upload
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.selectors import value_streams_visible


def _form_fields(post) -> dict:
    """The create/edit form's fields, as the service takes them (owner resolved)."""
    return {
        "value_stream": post.get("value_stream", ""),
        "product_family": post.get("product_family", ""),
        "measure": post.get("measure", ""),
        "first_month": parse_month(post.get("first_month", "")),
        "last_month": parse_month(post.get("last_month", "") or post.get("first_month", "")),
        "text": post.get("text", ""),
        "impact": post.get("impact", ""),
        "status": post.get("status", "") or AssumptionStatus.OPEN,
        "owner": user_resolve(post.get("owner", "")),
    }


def _version(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _choices(cycle: PlanningCycle, user) -> dict:
    streams = list(value_streams_visible(user=user))
    return {
        "streams": streams,
        "families": list(
            ProductFamily.objects.filter(value_stream__in=streams, active=True)
            .select_related("value_stream")
            .order_by("value_stream__code", "code")
        ),
        "measures": [(m, MEASURE_LABELS[m]) for m in ASSUMPTION_MEASURES],
        "statuses": AssumptionStatus.choices,
        "months": [f"{m:%Y-%m}" for m in cycle.horizon_months()],
        "owners": list(get_user_model().objects.filter(is_active=True).order_by("username")),
    }


@login_required
@require_http_methods(["GET", "POST"])
def assumptions_page(request: HttpRequest, month: str) -> HttpResponse:
    """The register: filters, the list with status changes, and a form to add one."""
    cycle = cycle_or_404(month)
    rights = assumption_rights(user=request.user)
    status = 200
    form = {}
    if request.method == "POST":
        form = request.POST
        try:
            a = assumption_create(cycle=cycle, user=request.user, **_form_fields(request.POST))
        except ApplicationError as exc:
            problem_messages(request, exc)
            status = exc.status
        else:
            messages.success(request, f"Assumption {a.pk} added.")
            return redirect("assumptions", month=cycle.label)
    filters = assumption_filters(request.GET)
    rows = [
        assumption_dict(a, rights=rights)
        for a in assumptions_filtered(assumptions_visible(cycle=cycle, user=request.user), filters)
    ]
    context = {
        "cycle": cycle,
        "rows": rows,
        "filters": filters,
        "filter_month": f"{filters.month:%Y-%m}" if filters.month else "",
        "may_create": rights.any and not cycle.is_frozen,
        "form": form,
        "csv_query": request.GET.urlencode(),
        **_choices(cycle, request.user),
    }
    return render(request, "planning/assumptions.html", context, status=status)


def _assumption(cycle: PlanningCycle, user, pk: int) -> Assumption:
    a = assumptions_visible(cycle=cycle, user=user).filter(pk=pk).first()
    if a is None:
        raise Http404(f"Cycle {cycle.label} has no assumption {pk} you may read.")
    return a


@login_required
@require_http_methods(["GET", "POST"])
def assumption_detail(request: HttpRequest, month: str, pk: int) -> HttpResponse:
    """One assumption: edit it, change its status, delete it; its history below."""
    cycle = cycle_or_404(month)
    a = _assumption(cycle, request.user, pk)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "delete":
                assumption_delete(
                    assumption=a, user=request.user, version=_version(request.POST.get("version"))
                )
                messages.success(request, f"Assumption {pk} deleted.")
                return redirect("assumptions", month=cycle.label)
            assumption_update(
                assumption=a,
                user=request.user,
                version=_version(request.POST.get("version")),
                changes=_form_fields(request.POST),
            )
        except ApplicationError as exc:
            problem_messages(request, exc)
            status = exc.status
            a = _assumption(cycle, request.user, pk)
        else:
            messages.success(request, f"Assumption {pk} saved.")
            return redirect("assumption_detail", month=cycle.label, pk=pk)
    rights = assumption_rights(user=request.user)
    context = {
        "cycle": cycle,
        "a": a,
        "row": assumption_dict(a, rights=rights),
        "may_change": not cycle.is_frozen
        and rights.may_change(value_stream_id=a.value_stream_id, measure=a.measure),
        "history": assumption_history(assumption=a),
        "grid_url": assumption_dict(a)["grid_url"],
        **_choices(cycle, request.user),
    }
    return render(request, "planning/assumption_detail.html", context, status=status)


@login_required
@require_POST
def assumption_status_view(request: HttpRequest, month: str, pk: int) -> HttpResponse:
    """The list's status buttons: open, confirmed, retired (with the version shown)."""
    cycle = cycle_or_404(month)
    a = _assumption(cycle, request.user, pk)
    try:
        assumption_update(
            assumption=a,
            user=request.user,
            version=_version(request.POST.get("version")),
            changes={"status": request.POST.get("status", "")},
        )
    except ApplicationError as exc:
        problem_messages(request, exc)
    else:
        messages.success(request, f"Assumption {pk} is {request.POST.get('status')}.")
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("assumptions", month=cycle.label)


@login_required
@require_POST
def assumptions_import_view(request: HttpRequest, month: str) -> HttpResponse:
    """The register's upload: a CSV/XLSX in the export's columns, all or nothing."""
    cycle = cycle_or_404(month)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationFailed.of_field("file", "choose a CSV or .xlsx file to upload")
        validate_upload(upload, name=upload.name, size=upload.size)
        result = assumptions_import(
            cycle=cycle, data=upload.read(), filename=upload.name, user=request.user
        )
    except ApplicationError as exc:
        problem_messages(request, exc)
    else:
        messages.success(request, f"Assumptions imported: {result.summary()}.")
    return redirect("assumptions", month=cycle.label)


@login_required
@require_GET
def assumptions_csv(request: HttpRequest, month: str) -> HttpResponse:
    """The register as CSV (the page's filters apply); text is safe to open in Excel."""
    cycle = cycle_or_404(month)
    qs = assumptions_filtered(
        assumptions_visible(cycle=cycle, user=request.user), assumption_filters(request.GET)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in assumption_csv_rows(qs):
        writer.writerow([safe_text(c) for c in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="assumptions-{cycle.label}.csv"'
    return response


# --------------------------------------------------------------------------- the grid


@json_endpoint("GET", "POST")
def grid_assumptions_view(request: HttpRequest, month: str, vs_code: str) -> HttpResponse:
    """GET: the stream's assumptions (markers, side panel) and the measures the user may
    add them for. POST ``{product_family, measure, first_month, last_month, text,
    impact, owner}``: one new assumption in this stream (201)."""
    cycle = cycle_or_404(month)
    stream = ValueStream.objects.filter(code=vs_code, active=True).first()
    if stream is None:
        raise Http404(f"No value stream {vs_code}.")
    grid_access(user=request.user, cycle=cycle, value_stream=stream)  # 403 if not read
    if request.method == "GET":
        return JsonResponse(
            assumptions_of_stream(cycle=cycle, value_stream=stream, user=request.user)
        )
    body = json_body(request)
    first = parse_month(str(body.get("first_month") or ""))
    last = parse_month(str(body.get("last_month") or "")) or first
    if first is None:
        raise ValidationFailed.of_field("first_month", "give the first month as YYYY-MM")
    a = assumption_create(
        cycle=cycle,
        user=request.user,
        value_stream=stream.code,
        product_family=str(body.get("product_family") or ""),
        measure=str(body.get("measure") or ""),
        first_month=first,
        last_month=last,
        text=str(body.get("text") or ""),
        impact=str(body.get("impact") or ""),
        owner=user_resolve(str(body.get("owner") or "")) or request.user,
        source="grid",
    )
    rights = assumption_rights(user=request.user)
    return JsonResponse(
        {
            "assumption": assumption_dict(a, rights=rights),
            "url": reverse("assumption_detail", args=[cycle.label, a.pk]),
        },
        status=201,
    )
