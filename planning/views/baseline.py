"""The statistical baseline page: what each family's baseline came from, a button to
compute it again, its progress and a cancel. Thin: call one service or selector."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from planning.models import BaselineRun, PlanningCycle
from planning.selectors.baseline import baseline_fits, baseline_run_latest, baseline_summary
from planning.selectors.plans import cycle_or_404
from planning.services.baseline import (
    baseline_cancel,
    baseline_request,
    user_can_request_baseline,
)
from sofp.errors import ApplicationError, json_endpoint, problem_messages
from valuestreams.roles import user_reads_all_streams
from valuestreams.selectors import value_streams_visible


def run_state(run: BaselineRun | None) -> dict:
    """A run as the page's progress bar reads it (also its JSON)."""
    if run is None:
        return {"status": "none", "label": "Not computed yet", "done": 0, "total": 0}
    return {
        "id": run.pk,
        "status": run.status,
        "label": run.get_status_display(),
        "done": run.families_done,
        "total": run.families_total,
        "percent": round(100 * run.progress),
        "active": run.is_active,
        "error": run.error,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def _page(request: HttpRequest, cycle: PlanningCycle, *, status: int = 200) -> HttpResponse:
    streams = None
    if not user_reads_all_streams(request.user):
        streams = [vs.code for vs in value_streams_visible(user=request.user)]
    summary = baseline_summary(cycle=cycle)
    context = {
        "cycle": cycle,
        "summary": summary,
        "run": summary.run,
        "state": run_state(summary.run),
        "fits": baseline_fits(cycle=cycle, value_stream_codes=streams),
        "can_request": user_can_request_baseline(request.user) and not cycle.is_frozen,
    }
    return render(request, "planning/baseline.html", context, status=status)


@login_required
@require_GET
def baseline_page(request: HttpRequest, month: str) -> HttpResponse:
    return _page(request, cycle_or_404(month))


@login_required
@require_POST
def baseline_request_view(request: HttpRequest, month: str) -> HttpResponse:
    cycle = cycle_or_404(month)
    try:
        run = baseline_request(cycle=cycle, user=request.user)
    except ApplicationError as exc:
        problem_messages(request, exc)
        return _page(request, cycle, status=exc.status)
    messages.success(
        request,
        f"Computing the baseline of {run.families_total} families in {run.chunks_total} "
        "part(s); this page shows the progress.",
    )
    return HttpResponseRedirect(reverse("baseline", args=[cycle.label]))


@login_required
@require_POST
def baseline_cancel_view(request: HttpRequest, month: str) -> HttpResponse:
    cycle = cycle_or_404(month)
    run = baseline_run_latest(cycle=cycle)
    try:
        if run is None:
            raise ApplicationError("There is no baseline run to cancel.", status=404)
        baseline_cancel(run=run, user=request.user)
    except ApplicationError as exc:
        problem_messages(request, exc)
        return _page(request, cycle, status=exc.status)
    messages.success(request, "Baseline cancelled; families already done keep their baseline.")
    return HttpResponseRedirect(reverse("baseline", args=[cycle.label]))


@json_endpoint("GET")
def baseline_status_view(request: HttpRequest, month: str) -> JsonResponse:
    cycle = cycle_or_404(month)
    return JsonResponse(run_state(baseline_run_latest(cycle=cycle)))
