"""The home page: this month's cycle, its steps and the streams the user plans."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from planning.selectors.plans import cycle_current, plan_rights
from valuestreams.selectors import value_streams_visible


@login_required
def home(request: HttpRequest) -> HttpResponse:
    cycle = cycle_current()
    steps = list(cycle.steps.order_by("number")) if cycle else []
    streams = list(value_streams_visible(user=request.user).prefetch_related("families"))
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
