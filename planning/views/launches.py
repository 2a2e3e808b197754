"""The launch register of a cycle (SOFP.md "NPD launches"): list, create, change,
history and CSV. Thin: read with the selectors, write with the services, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from planning.exports import launches_csv
from planning.models import AuditEvent, LaunchStatus
from planning.selectors.launches import (
    launch_dict,
    launches_visible,
    npd_streams_editable,
    receiving_streams,
    user_can_edit_launches,
)
from planning.selectors.plans import cycle_or_404
from planning.services.launches import launch_create, launch_update
from sofp.errors import ApplicationError, problem_messages

CREATE_FIELDS = (
    "npd_stream",
    "receiving_stream",
    "product_family",
    "family_name",
    "planned_month",
    "unit_price",
    "unit_material_cost",
    "hours_per_unit",
    "ramp",
    "development_hours",
    "note",
)


def _hours_text(hours: dict) -> str:
    return ", ".join(f"{m}: {h:g}" for m, h in hours.items())


def _ramp_text(ramp: list) -> str:
    return ", ".join(f"{u:g}" for u in ramp)


@login_required
@require_http_methods(["GET", "POST"])
def launches_page(request: HttpRequest, month: str) -> HttpResponse:
    """GET: the register; POST: a new launch (managers of the NPD stream, executives)."""
    cycle = cycle_or_404(month)
    editable_npd = list(npd_streams_editable(user=request.user))
    status = 200
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {f: request.POST.get(f, "") for f in CREATE_FIELDS}
        try:
            launch = launch_create(cycle=cycle, user=request.user, data=form)
        except ApplicationError as exc:
            problem_messages(request, exc)
            status = exc.status
        else:
            messages.success(
                request,
                f"Launch {launch.product_family.code} created: new family in "
                f"{launch.receiving_stream.code}, planned {launch.planned_month:%Y-%m}.",
            )
            return redirect("launches", month=cycle.label)
    rows = []
    for launch in launches_visible(user=request.user, cycle=cycle):
        d = launch_dict(launch)
        d["may_edit"] = not cycle.is_frozen and user_can_edit_launches(
            user=request.user, npd_stream=launch.npd_stream
        )
        d["ramp_text"] = _ramp_text(d["ramp"])
        d["hours_text"] = _hours_text(d["development_hours"])
        d["total_hours"] = sum(d["development_hours"].values())
        d["total_units"] = sum(d["ramp"])
        rows.append(d)
    ids = [r["id"] for r in rows]
    history = (
        AuditEvent.objects.filter(object_type="launch", object_id__in=ids, cycle=cycle)
        .select_related("user")
        .order_by("-at", "-pk")[:50]
    )
    codes = {r["id"]: r["product_family"] for r in rows}
    context = {
        "cycle": cycle,
        "rows": rows,
        "may_create": bool(editable_npd) and not cycle.is_frozen,
        "npd_streams": editable_npd,
        "receiving_streams": receiving_streams(),
        "statuses": LaunchStatus.choices,
        "history": [{"e": e, "family": codes.get(e.object_id, "")} for e in history],
        "form": form,
    }
    return render(request, "planning/launches.html", context, status=status)


@login_required
@require_POST
def launch_update_view(request: HttpRequest, month: str, launch_id: int) -> HttpResponse:
    """One launch's row form: planned and actual month, status, ramp, hours (versioned)."""
    cycle = cycle_or_404(month)
    launch = launches_visible(user=request.user, cycle=cycle).filter(pk=launch_id).first()
    if launch is None:
        raise Http404(f"Cycle {cycle.label} has no launch {launch_id} you may read.")
    changes = {
        f: request.POST.get(f, "")
        for f in ("planned_month", "status", "actual_month", "ramp", "development_hours")
        if f in request.POST
    }
    version_text = request.POST.get("version", "")
    version = int(version_text) if version_text.isdigit() else -1
    try:
        launch = launch_update(launch=launch, user=request.user, changes=changes, version=version)
    except ApplicationError as exc:
        problem_messages(request, exc)
    else:
        messages.success(request, f"Launch {launch.product_family.code} saved.")
    return redirect("launches", month=cycle.label)


@login_required
def launches_download(request: HttpRequest, month: str) -> HttpResponse:
    """The register as CSV (the launches of the NPD streams the user reads)."""
    cycle = cycle_or_404(month)
    rows = [launch_dict(x) for x in launches_visible(user=request.user, cycle=cycle)]
    response = HttpResponse(launches_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="launches-{cycle.label}.csv"'
    return response
