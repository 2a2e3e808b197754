"""The home page: this month's cycle, its steps and the streams the user plans."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from planning.context_processors import remember_streams_visible, request_cycle_current
from planning.selectors.home import cycle_steps, streams_with_family_counts
from planning.selectors.plans import plan_rights


@login_required
def home(request: HttpRequest) -> HttpResponse:
    cycle = request_cycle_current(request)
    steps = cycle_steps(cycle) if cycle else []
    # The table shows how many families a stream has (active or not): a count, not rows.
    streams = streams_with_family_counts(request.user)
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
