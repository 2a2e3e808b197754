"""The planner's grid: the page and its JSON endpoints. Thin: parse, call, render.

Errors map to HTTP here and only here: 400 bad cells (with a reason per cell), 401 not
logged in, 403 not yours, 404 unknown cycle/stream, 409 frozen cycle or stale version
(with the current values and who changed them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from planning.calendar import parse_month
from planning.models import PlanningCycle
from planning.selectors.grid import cell_history, grid_computed_rows, grid_data
from planning.selectors.plans import cycle_get_by_label
from planning.services.grid import GridCellsRejected, grid_comment_set, grid_save
from sofp.exceptions import (
    ApplicationError,
    FrozenCycleError,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import user_can_edit_company_values, user_reads_all_streams
from valuestreams.selectors import user_can_edit_stream, user_can_view_stream, value_streams_visible

FILE_ACTIONS_TEMPLATE = "planning/_plan_file_actions.html"


class _Scope:
    """The cycle and value stream (None = company) a grid request is about."""

    def __init__(self, request: HttpRequest, month: str, vs_code: str | None) -> None:
        cycle = cycle_get_by_label(month)
        if cycle is None:
            raise Http404(f"No planning cycle {month}.")
        self.cycle: PlanningCycle = cycle
        self.value_stream: ValueStream | None = None
        user = request.user
        if vs_code is None:
            if not (user_reads_all_streams(user) or user_can_edit_company_values(user=user)):
                raise PermissionDenied(
                    "The company page is for executives, finance, sales and administrators."
                )
            self.can_edit = user_can_edit_company_values(user=user)
            self.denied = "Sustaining costs are entered by finance, executives and administrators"
        else:
            vs = ValueStream.objects.filter(code=vs_code, active=True).first()
            if vs is None:
                raise Http404(f"No value stream {vs_code}.")
            if not user_can_view_stream(user=user, value_stream=vs):
                raise PermissionDenied(f"You cannot see value stream {vs.code}.")
            self.value_stream = vs
            self.can_edit = user_can_edit_stream(user=user, value_stream=vs)
            self.denied = f"You are not a planner or manager of value stream {vs.code}"

    @property
    def readonly_reason(self) -> str:
        if self.cycle.is_frozen:
            return (
                f"Cycle {self.cycle.label} is approved and frozen: its plan is read-only "
                "for everyone."
            )
        if not self.can_edit:
            return f"{self.denied}."
        return ""

    def url(self, name: str) -> str:
        if self.value_stream is None:
            return reverse(f"company-grid-{name}", args=[self.cycle.label])
        return reverse(f"grid-{name}", args=[self.cycle.label, self.value_stream.code])


def _json_endpoint(view: Callable) -> Callable:
    """Login check (401, not a redirect) and domain errors → JSON with their status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            body = {"detail": "Log in first (your session may have ended)."}
            return JsonResponse(body, status=401)
        try:
            return view(request, *args, **kwargs)
        except Http404 as exc:
            return JsonResponse({"detail": str(exc) or "Not found."}, status=404)
        except GridCellsRejected as exc:
            cells = {str(i): msg for i, msg in exc.cells.items()}
            body = {"detail": exc.message, "errors": exc.errors, "cells": cells}
            return JsonResponse(body, status=400)
        except VersionConflict as exc:
            return JsonResponse({"detail": exc.message, "conflicts": exc.conflicts}, status=409)
        except FrozenCycleError as exc:
            return JsonResponse({"detail": exc.message, "frozen": True}, status=409)
        except PermissionDenied as exc:
            body = {"detail": exc.message, "errors": exc.extra.get("errors", [exc.message])}
            return JsonResponse(body, status=403)
        except ValidationFailed as exc:
            return JsonResponse({"detail": exc.message, "errors": exc.errors}, status=400)
        except ApplicationError as exc:
            return JsonResponse({"detail": exc.message}, status=exc.status)

    return wrapper


def _body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return body


def _file_actions_template() -> str | None:
    """Issue 4's upload/download partial when it is there; plain links otherwise."""
    try:
        get_template(FILE_ACTIONS_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return FILE_ACTIONS_TEMPLATE


def _page(request: HttpRequest, month: str, vs_code: str | None) -> HttpResponse:
    try:
        scope = _Scope(request, month, vs_code)
    except PermissionDenied as exc:
        return render(request, "planning/grid_denied.html", {"reason": exc.message}, status=403)
    config = {
        "dataUrl": scope.url("data"),
        "saveUrl": scope.url("save"),
        "historyUrl": scope.url("history"),
        "commentUrl": scope.url("comment"),
        "editable": not scope.readonly_reason,
        "readonlyReason": scope.readonly_reason,
        "scope": "company" if vs_code is None else "stream",
        "valueStream": vs_code or "",
    }
    context = {
        "cycle": scope.cycle,
        "value_stream": scope.value_stream,
        "readonly_reason": scope.readonly_reason,
        "grid_config": config,
        "streams": list(value_streams_visible(user=request.user)),
        "show_company": user_reads_all_streams(request.user)
        or user_can_edit_company_values(user=request.user),
        "file_actions_template": _file_actions_template(),
    }
    return render(request, "planning/grid.html", context)


@login_required
@require_GET
def grid_page(request: HttpRequest, month: str, vs_code: str) -> HttpResponse:
    return _page(request, month, vs_code)


@login_required
@require_GET
def company_page(request: HttpRequest, month: str) -> HttpResponse:
    return _page(request, month, None)


@_json_endpoint
@require_GET
def grid_data_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    scope = _Scope(request, month, vs_code)
    data = grid_data(cycle=scope.cycle, value_stream=scope.value_stream, today=timezone.localdate())
    data["editable"] = not scope.readonly_reason
    data["readonly_reason"] = scope.readonly_reason
    return JsonResponse(data)


@_json_endpoint
@require_POST
def grid_save_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    scope = _Scope(request, month, vs_code)
    if scope.cycle.is_frozen:
        raise FrozenCycleError(scope.readonly_reason)
    if not scope.can_edit:
        raise PermissionDenied(scope.readonly_reason)
    saved = grid_save(
        cycle=scope.cycle,
        value_stream=scope.value_stream,
        raw_cells=_body(request).get("cells"),
        user=request.user,
        today=timezone.localdate(),
    )
    return JsonResponse(
        {
            "versions": saved.versions,
            "result": saved.result.as_dict(),
            "computed": grid_computed_rows(cycle=scope.cycle, value_stream=scope.value_stream),
        }
    )


@_json_endpoint
@require_GET
def grid_history_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    scope = _Scope(request, month, vs_code)
    cell_month = parse_month(request.GET.get("month", ""))
    measure = request.GET.get("measure", "")
    if cell_month is None or not measure:
        raise ValidationFailed("Give the cell's measure and month (YYYY-MM).")
    family = None
    if code := request.GET.get("family", ""):
        family = ProductFamily.objects.filter(code=code, value_stream=scope.value_stream).first()
        if family is None:
            raise Http404(f"No product family {code} in this value stream.")
    return JsonResponse(
        cell_history(
            cycle=scope.cycle,
            value_stream=scope.value_stream,
            family=family,
            measure=measure,
            month=cell_month,
        )
    )


@_json_endpoint
@require_POST
def grid_comment_view(request: HttpRequest, month: str, vs_code: str | None = None) -> HttpResponse:
    scope = _Scope(request, month, vs_code)
    body = _body(request)
    pv = grid_comment_set(
        cycle=scope.cycle,
        value_stream=scope.value_stream,
        family_code=str(body.get("family") or ""),
        measure=str(body.get("measure") or ""),
        month_text=str(body.get("month") or ""),
        text=str(body.get("text") or ""),
        user=request.user,
    )
    return JsonResponse({"comment": pv.comment, "version": pv.version})
