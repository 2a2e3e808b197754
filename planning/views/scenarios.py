"""The cycle's scenarios page: list, create, adopt, delete, and compare with the plan.
Thin: read, call the one service, render (errors through the one mapper)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from planning.selectors.plans import cycle_or_404, stream_scope
from planning.selectors.scenarios import (
    adopt_rights,
    scenario_compare_block,
    scenario_get,
    scenarios_of,
    user_can_create_scenario,
    user_can_delete_scenario,
)
from planning.services.scenarios import scenario_adopt, scenario_create, scenario_delete
from sofp.errors import ApplicationError, problem_messages
from valuestreams.selectors import value_streams_editable, value_streams_visible


def _first_grid(request: HttpRequest, cycle, name: str) -> str:
    """Where a new scenario is edited: the user's first stream's grid, in the scenario."""
    stream = value_streams_editable(user=request.user).first() or (
        value_streams_visible(user=request.user).first()
    )
    if stream is None:
        return reverse("scenarios", args=[cycle.label])
    url = reverse("grid", args=[cycle.label, stream.code])
    return f"{url}?{urlencode({'scenario': name})}"


@login_required
@require_http_methods(["GET", "POST"])
def scenarios_page(request: HttpRequest, month: str) -> HttpResponse:
    cycle = cycle_or_404(month)
    status = 200
    if request.method == "POST":
        try:
            scenario = scenario_create(
                cycle=cycle,
                name=request.POST.get("name", "").strip(),
                description=request.POST.get("description", ""),
                user=request.user,
            )
        except ApplicationError as exc:
            problem_messages(request, exc)
            status = exc.status
        else:
            messages.success(
                request,
                f"Scenario {scenario.name} created from the plan: edit it here; the plan "
                "does not change.",
            )
            return redirect(_first_grid(request, cycle, scenario.name))
    rights = adopt_rights(request.user)
    rows = [
        {
            "scenario": s,
            "grid": _first_grid(request, cycle, s.name),
            "prices": f"{reverse('cycle_prices', args=[cycle.label])}?"
            + urlencode({"scenario": s.name}),
            "may_delete": user_can_delete_scenario(request.user, s) and not s.is_frozen,
            "may_adopt": rights.allowed and not s.is_frozen,
        }
        for s in scenarios_of(cycle)
    ]
    context = {
        "cycle": cycle,
        "rows": rows,
        "may_create": user_can_create_scenario(request.user) and not cycle.is_frozen,
        "adopt_all": rights.streams is None,
        "form": {
            "name": request.POST.get("name", ""),
            "description": request.POST.get("description", ""),
        },
        "compare": scenario_compare_block(
            cycle=cycle,
            names=request.GET.getlist("compare"),
            value_streams=stream_scope(user=request.user),
        ),
        "keep_query": [],
        "company_view": stream_scope(user=request.user) is None,
    }
    return render(request, "planning/scenarios.html", context, status=status)


@login_required
@require_POST
def scenario_adopt_view(request: HttpRequest, month: str, name: str) -> HttpResponse:
    cycle = cycle_or_404(month)
    try:
        result = scenario_adopt(scenario=scenario_get(cycle=cycle, name=name), user=request.user)
    except ApplicationError as exc:
        problem_messages(request, exc)
    else:
        messages.success(
            request,
            f"Scenario {name} adopted: {result.summary()}."
            if result.cells or result.prices
            else f"The plan already equals scenario {name}: nothing changed.",
        )
    return redirect("scenarios", month=cycle.label)


@login_required
@require_POST
def scenario_delete_view(request: HttpRequest, month: str, name: str) -> HttpResponse:
    cycle = cycle_or_404(month)
    try:
        scenario_delete(scenario=scenario_get(cycle=cycle, name=name), user=request.user)
    except ApplicationError as exc:
        problem_messages(request, exc)
    else:
        messages.success(request, f"Scenario {name} deleted; the plan is as it was.")
    return redirect("scenarios", month=cycle.label)
