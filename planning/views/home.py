"""The home page: this month's cycle, its steps and the streams the user plans."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from planning.context_processors import remember_streams_visible, request_cycle_current
from planning.selectors.plans import plan_rights
from valuestreams.selectors import value_streams_visible


@login_required
def home(request: HttpRequest) -> HttpResponse:
    cycle = request_cycle_current(request)
    steps = list(cycle.steps.order_by("number")) if cycle else []
    # The table shows how many families a stream has (active or not): a count, not rows.
    streams = list(
        value_streams_visible(user=request.user).annotate(family_count=Count("families"))
    )
    remember_streams_visible(request, streams)
    rights = plan_rights(user=request.user)
    return render(
        request,
        "planning/home.html",
        {
            "cycle": cycle,
            "steps": steps,
            "streams": streams,
            "editable_ids": {vs.pk for vs in streams if rights.may_edit(value_stream_id=vs.pk)},
        },
    )
