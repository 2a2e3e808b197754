"""Step 4's "Prices and costs" page of a cycle. Thin: read, call the service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from planning.models import cycle_scenario
from planning.selectors.plans import cycle_get_by_label, cycle_missing_message
from planning.selectors.prices import (
    PRICE_FIELDS,
    PRICE_LABELS,
    cycle_price_history,
    cycle_prices,
    user_can_edit_prices,
)
from planning.selectors.scenarios import cycle_with_scenario, scenarios_of
from planning.services.prices import cycle_prices_set
from sofp.errors import ApplicationError, problem_messages
from valuestreams.selectors import value_streams_visible


def _changed(post) -> tuple[dict, dict]:
    """The numbers the user changed (``unit_price:CODE``) and what the form showed."""
    values: dict[str, dict[str, str]] = {}
    base: dict[str, dict[str, str]] = {}
    for key, text in post.items():
        field, _, code = key.partition(":")
        if field not in PRICE_FIELDS or not code:
            continue
        shown = post.get(f"base-{key}", "")
        if text.strip() != shown.strip():
            values.setdefault(code, {})[field] = text
            base.setdefault(code, {})[field] = shown
    return values, base


@login_required
@require_http_methods(["GET", "POST"])
def cycle_prices_view(request: HttpRequest, month: str) -> HttpResponse:
    cycle = cycle_get_by_label(month)
    if cycle is None:
        raise Http404(cycle_missing_message(month))
    # ``?scenario=NAME``: the scenario's own prices (finance tries a price change there).
    cycle = cycle_with_scenario(cycle=cycle, name=request.GET.get("scenario", ""))
    scenario = cycle_scenario(cycle)
    may_edit = user_can_edit_prices(request.user) and not cycle.is_frozen
    status = 200
    if request.method == "POST":
        values, base = _changed(request.POST)
        try:
            n = cycle_prices_set(cycle=cycle, values=values, base=base, user=request.user)
        except ApplicationError as exc:
            problem_messages(request, exc)
            status = exc.status
        else:
            messages.success(request, f"{n:,} price(s) and cost(s) saved." if n else "No change.")
            url = reverse("cycle_prices", args=[cycle.label])
            return redirect(url + (f"?scenario={scenario.name}" if scenario else ""))
    streams = value_streams_visible(user=request.user)
    context = {
        "cycle": cycle,
        "rows": cycle_prices(cycle=cycle, value_streams=streams),
        "history": cycle_price_history(cycle=cycle),
        "may_edit": may_edit,
        "fields": PRICE_FIELDS,
        "labels": PRICE_LABELS,
        "scenario": scenario,
        "scenarios": list(scenarios_of(cycle)),
    }
    return render(request, "planning/prices.html", context, status=status)
