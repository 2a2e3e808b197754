"""The planner's grid: the page and its JSON endpoints. Thin: parse, call, render.

The JSON endpoints answer errors as problem JSON through the one mapper
(:func:`sofp.errors.json_endpoint`): 400 bad cells (with a reason per cell) or a bad
body, 401 not logged in, 403 not yours, 404 unknown cycle/stream, 409 frozen cycle or
stale version (with the current values and who changed them), 413 too large.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from planning.calendar import parse_month
from planning.context_processors import (
    remember_streams_visible,
    request_sees_company_plan,
    streams_visible,
)
from planning.measures import ACTUAL_MEASURES, MEASURE_LABELS
from planning.models import EmptyCellComment, cycle_scenario
from planning.selectors.cycles import company_zone
from planning.selectors.grid import (
    GridAccess,
    cell_history,
    demand_data,
    demand_flag_rows,
    grid_access,
    grid_computed_rows,
    grid_data,
)
from planning.selectors.grid_inputs import active_stream, cycle_of_month
from planning.selectors.live import (
    grid_actual_cursor,
    grid_changes_since,
    grid_cursor,
    grid_presence,
)
from planning.selectors.plans import cycle_or_404
from planning.selectors.scenarios import cycle_with_scenario, scenarios_of
from planning.services.baseline import demand_use_baseline
from planning.services.grid import grid_comment_set, grid_save
from planning.services.launches import demand_use_ramp
from planning.services.plan_values import UpsertResult
from sofp.errors import PermissionDenied, Problem, ValidationFailed, json_body, json_endpoint
from valuestreams.models import ProductFamily

FILE_ACTIONS_TEMPLATE = "planning/_plan_file_actions.html"


def _access(request: HttpRequest, month: str, vs_code: str | None) -> GridAccess:
    """The cycle (404), the stream (404, None for the company) and the user's access."""
    cycle_month = parse_month(month)
    cycle = (cycle_of_month(cycle_month) if cycle_month else None) or cycle_or_404(month)
    value_stream = None
    if vs_code is not None:
        value_stream = active_stream(vs_code)
        if value_stream is None:
            raise Http404(f"No value stream {vs_code}.")
    # ``?scenario=NAME``: the same grid on the scenario's cells (404 unknown, 400 bad).
    cycle = cycle_with_scenario(cycle=cycle, name=request.GET.get("scenario", ""))
    access = grid_access(user=request.user, cycle=cycle, value_stream=value_stream)
    if cycle_scenario(cycle) is not None:  # facts are the plan's: read-only in a scenario
        access = replace(access, measures=access.measures - ACTUAL_MEASURES)
    return access


def _scenario_query(access: GridAccess) -> str:
    scenario = cycle_scenario(access.cycle)
    return f"?{urlencode({'scenario': scenario.name})}" if scenario is not None else ""


def _url(access: GridAccess, name: str) -> str:
    if access.value_stream is None:
        url = reverse(f"company-grid-{name}", args=[access.cycle.label])
    else:
        url = reverse(f"grid-{name}", args=[access.cycle.label, access.value_stream.code])
    return url + _scenario_query(access)


def _file_actions_template() -> str | None:
    """Issue 4's upload/download partial when it is there; plain links otherwise."""
    try:
        get_template(FILE_ACTIONS_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return FILE_ACTIONS_TEMPLATE


def _focus(request: HttpRequest) -> dict | None:
    """The cell a deep link names (``?family=&month=YYYY-MM&measure=``), as given: the
    grid selects it when it is there and says so when it is not."""
    measure = request.GET.get("measure", "")
    if not measure:
        return None
    month = parse_month(request.GET.get("month", ""))
    return {
        "family": request.GET.get("family", "")[:40],
        "measure": measure[:40],
        "month": f"{month:%Y-%m}" if month else "",
    }


def _page(
    request: HttpRequest, month: str, vs_code: str | None, view: str = "full"
) -> HttpResponse:
    try:
        access = _access(request, month, vs_code)
    except PermissionDenied as exc:
        return render(request, "planning/grid_denied.html", {"reason": exc.message}, status=403)
    data_url = (
        reverse("demand-data", args=[access.cycle.label, vs_code]) + _scenario_query(access)
        if view == "demand"
        else _url(access, "data")
    )
    scenario = cycle_scenario(access.cycle)
    # The stream switch and the Plan menu show the same streams and company link: read once.
    streams = streams_visible(request.user)
    remember_streams_visible(request, streams)
    config = {
        "view": view,
        "dataUrl": data_url,
        "saveUrl": _url(access, "save"),
        "historyUrl": _url(access, "history"),
        "commentUrl": _url(access, "comment"),
        "useBaselineUrl": (
            reverse("grid-use-baseline", args=[access.cycle.label, vs_code])
            + _scenario_query(access)
            if view == "demand"
            else ""
        ),
        "scenario": scenario.name if scenario is not None else "",
        "useRampUrl": (
            reverse("grid-use-ramp", args=[access.cycle.label, vs_code]) if view == "demand" else ""
        ),
        "liveUrl": _url(access, "live"),
        "liveCursor": grid_cursor(cycle=access.cycle),
        "liveActualCursor": grid_actual_cursor(),
        "editable": access.editable,
        "readonlyReason": access.readonly_reason,
        "scope": "company" if vs_code is None else "stream",
        "valueStream": vs_code or "",
        "measures": sorted(access.measures),
        "measureLabels": dict(MEASURE_LABELS),
        "focus": _focus(request),
    }
    context = {
        "cycle": access.cycle,
        "value_stream": access.value_stream,
        "readonly_reason": access.readonly_reason,
        "grid_config": config,
        "streams": streams,
        "show_company": request_sees_company_plan(request),
        "file_actions_template": _file_actions_template(),
        "view": view,
        "scenario": scenario,
        "scenario_query": _scenario_query(access),
        "scenarios": list(scenarios_of(access.cycle)),
    }
    return render(request, "planning/grid.html", context)


@login_required
@require_GET
def grid_page(request: HttpRequest, month: str, vs_code: str) -> HttpResponse:
    return _page(request, month, vs_code)


@login_required
@require_GET
def demand_page(request: HttpRequest, month: str, vs_code: str) -> HttpResponse:
    """Step 1's demand view of a stream: demand only, the last approved plan below it."""
    return _page(request, month, vs_code, view="demand")


@json_endpoint("GET")
def demand_data_view(request: HttpRequest, month: str, vs_code: str) -> HttpResponse:
    access = _access(request, month, vs_code)
    data = demand_data(cycle=access.cycle, value_stream=access.value_stream, today=_company_today())
    return _data_response(access, data)


@login_required
@require_GET
def company_page(request: HttpRequest, month: str) -> HttpResponse:
    return _page(request, month, None)


@json_endpoint("GET")
def grid_data_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    access = _access(request, month, vs_code)
    data = grid_data(cycle=access.cycle, value_stream=access.value_stream, today=_company_today())
    return _data_response(access, data)


def _data_response(access: GridAccess, data: dict) -> JsonResponse:
    """A grid's (or the demand view's) data with what this user may do in it."""
    data["editable"] = access.editable
    data["readonly_reason"] = access.readonly_reason
    data["measures"] = sorted(access.measures)
    return JsonResponse(data)


def _company_today():
    """Today in the company's time zone (the month the actual rows are open to)."""
    return timezone.localdate(timezone=company_zone())


@json_endpoint("POST")
def grid_save_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    access = _access(request, month, vs_code)
    access.refuse_write()
    body = json_body(request)
    saved = grid_save(
        cycle=access.cycle,
        value_stream=access.value_stream,
        raw_cells=body.get("cells"),
        user=request.user,
        today=_company_today(),
        rights=access.rights,
    )
    return JsonResponse(
        {
            "versions": saved.versions,
            "result": saved.result.as_dict(),
            "computed": _computed(access, body),
        }
    )


def _computed(access: GridAccess, body: dict) -> list[dict]:
    """The engine's rows after a write; the demand view also gets its demand rows'
    baseline highlights (they follow every save)."""
    rows = grid_computed_rows(cycle=access.cycle, value_stream=access.value_stream)
    if body.get("view") == "demand" and access.value_stream is not None:
        rows += demand_flag_rows(cycle=access.cycle, value_stream=access.value_stream)
    return rows


def _copy_cells(body: dict) -> list[tuple[str, dt.date, int | None]]:
    """The cells of a "Use baseline" or "Use ramp" request, ``{"cells": [{"family",
    "month", "version"}]}``; every unreadable one is a problem by index (versions as in
    a grid save: whole numbers, not booleans)."""
    raw = body.get("cells")
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("Send the cells to copy: a list of {family, month, version}.")
    cells, problems = [], []
    for i, item in enumerate(raw):
        item = item if isinstance(item, dict) else {}
        cell_month = parse_month(str(item.get("month") or ""))
        version = item.get("version")
        if cell_month is None or not item.get("family"):
            problems.append(Problem("bad_cell", "give the family and month (YYYY-MM)", index=i))
            continue
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 0
        ):
            problems.append(Problem("bad_version", "version must be a whole number", index=i))
            continue
        cells.append((str(item["family"])[:40], cell_month, version))
    if problems:
        raise ValidationFailed(
            "Some cells could not be read; nothing was copied.", problems=problems
        )
    return cells


def _copy_into_demand(
    request: HttpRequest, month: str, vs_code: str, copy: Callable[..., UpsertResult]
) -> HttpResponse:
    """Step 1's copies into demand (``copy``: the baseline's or the ramp's service) for
    the posted cells, through the write path; the answer is the demand view's."""
    access = _access(request, month, vs_code)
    access.refuse_write()
    cells = _copy_cells(json_body(request))
    result = copy(cycle=access.cycle, user=request.user, cells=cells)
    return JsonResponse(
        {
            "versions": [c.version for c in result.stored],
            "result": result.as_dict(),
            "computed": _computed(access, {"view": "demand"}),
        }
    )


@json_endpoint("POST")
def grid_use_baseline_view(request: HttpRequest, month: str, vs_code: str) -> HttpResponse:
    """Step 1's "Use baseline": the statistical baseline copied into demand for the given
    cells (``{"cells": [{"family", "month", "version"}]}``) through the write path."""
    return _copy_into_demand(request, month, vs_code, demand_use_baseline)


@json_endpoint("POST")
def grid_use_ramp_view(request: HttpRequest, month: str, vs_code: str) -> HttpResponse:
    """Step 1's "Use ramp": a launch's ramp copied into its new family's demand for the
    given cells (``{"cells": [{"family", "month", "version"}]}``) through the write path."""
    return _copy_into_demand(request, month, vs_code, demand_use_ramp)


@json_endpoint("GET")
def grid_history_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    access = _access(request, month, vs_code)
    cell_month = parse_month(request.GET.get("month", ""))
    measure = request.GET.get("measure", "")
    if cell_month is None or not measure:
        raise ValidationFailed("Give the cell's measure and month (YYYY-MM).", code="no_cell")
    family = None
    if code := request.GET.get("family", ""):
        family = ProductFamily.objects.filter(code=code, value_stream=access.value_stream).first()
        if family is None:
            raise Http404(f"No product family {code} in this value stream.")
    return JsonResponse(
        cell_history(
            cycle=access.cycle,
            value_stream=access.value_stream,
            family=family,
            measure=measure,
            month=cell_month,
        )
    )


@json_endpoint("POST")
def grid_comment_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    access = _access(request, month, vs_code)
    body = json_body(request)
    pv = grid_comment_set(
        cycle=access.cycle,
        value_stream=access.value_stream,
        family_code=str(body.get("family") or ""),
        measure=str(body.get("measure") or ""),
        month_text=str(body.get("month") or ""),
        text=str(body.get("text") or ""),
        user=request.user,
    )
    if isinstance(pv, EmptyCellComment):  # a comment on a cell without a value yet
        return JsonResponse({"comment": pv.text, "version": 0})
    return JsonResponse({"comment": pv.comment, "version": pv.version})


@json_endpoint("GET")
def grid_live_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    """Others' saved edits after ``?after=<change id>`` and who else has the grid open."""
    access = _access(request, month, vs_code)
    after_text = request.GET.get("after", "")
    after = int(after_text) if after_text.isdigit() else grid_cursor(cycle=access.cycle)
    actual_text = request.GET.get("after_actual", "")
    body = grid_changes_since(
        cycle=access.cycle,
        value_stream=access.value_stream,
        after=after,
        after_actual=int(actual_text) if actual_text.isdigit() else None,
    )
    body["others"] = grid_presence(
        cycle=access.cycle, value_stream=access.value_stream, user=request.user
    )
    return JsonResponse(body)
