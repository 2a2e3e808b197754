"""Dashboards: one page per value stream, and the step-5 executive review.

Thin: resolve the cycle and the user's streams, call one selector, render.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from planning.context_processors import remember_streams_visible, request_cycle_current
from planning.selectors.actuals import closed_month_block, last_closed_month
from planning.selectors.assumptions import assumptions_behind_biggest_changes
from planning.selectors.dashboards import (
    cycle_choices,
    cycle_from_query,
    review_page,
    stream_cards,
    stream_dashboard,
)
from planning.selectors.plans import (
    cycle_current,
    cycle_or_404,
    stream_scope,
)
from planning.selectors.reconcile import reconcile_page
from planning.selectors.scenarios import scenario_compare_block
from valuestreams.models import ValueStream
from valuestreams.roles import user_reads_all_streams
from valuestreams.selectors import user_can_view_stream, value_streams_visible


def _compare(request: HttpRequest, cycle) -> dict:
    """The plan beside the scenarios chosen with ``?compare=`` (the review, step 3)."""
    return {
        "compare": scenario_compare_block(
            cycle=cycle,
            names=request.GET.getlist("compare"),
            value_streams=stream_scope(user=request.user),
        ),
        "keep_query": [(k, v) for k, v in request.GET.items() if k != "compare"],
    }


@login_required
def value_stream_list(request: HttpRequest) -> HttpResponse:
    streams = list(value_streams_visible(user=request.user).prefetch_related("families"))
    cycle = cycle_current()
    return render(
        request,
        "planning/value_stream_list.html",
        {"cards": stream_cards(cycle=cycle, streams=streams), "cycle": cycle},
    )


@login_required
def value_stream_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    value_stream = get_object_or_404(ValueStream, code=code, active=True)
    if not user_can_view_stream(user=request.user, value_stream=value_stream):
        raise PermissionDenied(f"You may not see value stream {code}.")
    label = request.GET.get("cycle")
    # Without ?cycle=: the current cycle, read once for the page and its menu.
    cycle = cycle_from_query(label) if label else request_cycle_current(request)
    context = {"value_stream": value_stream, "cycle": cycle, "cycles": cycle_choices()}
    if cycle is not None:
        context["dash"] = stream_dashboard(
            cycle=cycle,
            value_stream=value_stream,
            family_code=request.GET.get("family"),
            month=request.GET.get("month"),
        )
    dash = context.get("dash")
    context["closed"] = closed_month_block(
        month=last_closed_month(),
        value_streams=[value_stream],
        family=dash.family if dash is not None else None,
        facts=dash.kept("facts", lambda: None) if dash is not None else None,
    )
    context["close_url"] = reverse("month_close", kwargs={"code": value_stream.code})
    return render(request, "planning/value_stream_dashboard.html", context)


@login_required
def review(request: HttpRequest, month: str | None = None) -> HttpResponse:
    """``/review/`` (current cycle) and ``/cycles/<YYYY-MM>/review/``."""
    # Read once for the page and its menu (a GET: nothing starts or approves a cycle).
    cycle = request_cycle_current(request) if month is None else cycle_or_404(month)
    streams = list(value_streams_visible(user=request.user))
    remember_streams_visible(request, streams)
    context = {
        "cycle": cycle,
        "streams": streams,
        "company_view": user_reads_all_streams(request.user),
    }
    if cycle is not None and streams:
        context["page"] = review_page(
            cycle=cycle,
            user=request.user,
            streams=streams,
            month=request.GET.get("month"),
            exception_page=request.GET.get("exceptions_page"),
            exception_kind=request.GET.get("exception_kind"),
            exception_stream=request.GET.get("exception_stream"),
            family=request.GET.get("family"),
        )
        page = context["page"]
        # Of this cycle's assumptions and its analysis: what the page's stamp covers.
        context["assumptions_behind"] = page.kept(
            "assumptions_behind",
            lambda: assumptions_behind_biggest_changes(
                cycle,
                8,
                value_streams=streams,
                # the page's analysis is of these very streams unless a family narrows it
                analysis=page.analysis if page.family is None else None,
            ),
        )
        context.update(_compare(request, cycle))
    if streams:
        # Facts change without a cycle: reused only under a stamp of the facts (one query).
        page = context.get("page")
        closed = closed_month_block(
            month=last_closed_month(),
            value_streams=streams,
            family=page.family if page is not None else None,
            facts=page.kept("facts", lambda: None) if page is not None else None,
        )
        if not context["company_view"]:
            closed["blocks"] = [b for b in closed["blocks"] if not b["is_company"]]
            closed["trend"] = []
        context["closed"] = closed
    return render(request, "planning/review.html", context)


@login_required
def reconcile(request: HttpRequest, month: str) -> HttpResponse:
    """Step 3: every value stream the user reads, side by side, month by month."""
    cycle = cycle_or_404(month)
    streams = list(value_streams_visible(user=request.user))
    step = cycle.steps.filter(number=3).first()
    context = {
        "cycle": cycle,
        "step": step,
        "page": reconcile_page(cycle=cycle, streams=streams) if streams else None,
    }
    if streams:
        context.update(_compare(request, cycle))
    return render(request, "planning/reconcile.html", context)
