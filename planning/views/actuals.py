"""The "Month close" page of a value stream: the last month's facts (its operational
actuals and its families' sales and production). Thin: read, call ``actuals_upsert``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from planning.calendar import month_add
from planning.measures import ACTUAL_FAMILY_FACTS, ACTUAL_LABELS, ACTUAL_STREAM_FACTS
from planning.models import ActualChange
from planning.selectors.actuals import (
    actual_rights,
    actuals_for_stream_month,
    current_month,
    last_closed_month,
)
from planning.selectors.cycles import company_currency
from planning.services.actuals import ActualInput, actuals_upsert
from planning.views.month_query import month_query
from sofp.errors import ApplicationError, Problem, ValidationFailed
from sofp.tables import CellError
from valuestreams.selectors import value_streams_visible

# The page names each fact's unit (the sales and production labels carry theirs).
_UNITS = {
    "actual_available_hours": "h",
    "actual_productive_hours": "h",
    "actual_non_productive_hours": "h",
    "orders_shipped": "orders",
    "orders_on_time": "orders",
    "units_first_time_through": "units",
    "dock_to_dock_days": "days",
}


def _label_with_unit(measure: str, currency: str) -> str:
    label = ACTUAL_LABELS[measure]
    unit = currency if measure == "actual_conversion_cost" else _UNITS.get(measure)
    return f"{label} ({unit})" if unit and not label.endswith(")") else label


def _inputs(
    post, *, stream: str, month, families: list[str]
) -> tuple[list[ActualInput], list[str], list[str]]:
    """The cells whose text changed against what the form showed (``base-…``), each
    cell's name for people ("A-1 · Actual sales (units)"), and the numbers that could
    not be read (named the same way). Numbers read as the grid reads them ("1,200")."""
    from planning.services.grid import parse_grid_number

    cells: list[ActualInput] = []
    names: list[str] = []
    unreadable: list[str] = []
    keys = [("", m) for m in ACTUAL_STREAM_FACTS] + [
        (f, m) for f in families for m in ACTUAL_FAMILY_FACTS
    ]
    for family, measure in keys:
        name = f"{measure}:{family}"
        if name not in post:
            continue
        text, shown = post.get(name, "").strip(), post.get(f"base-{name}", "").strip()
        if text == shown:
            continue
        label = f"{family} · {ACTUAL_LABELS[measure]}" if family else ACTUAL_LABELS[measure]
        try:
            value = parse_grid_number(text)
        except CellError as exc:
            unreadable.append(f"{label}: {exc}")
            continue
        version = int(post.get(f"version-{name}", "0") or 0)
        cells.append(ActualInput(stream, family, month, measure, value, version=version))
        names.append(label)
    return cells, names, unreadable


def _named_problems(request: HttpRequest, exc: ApplicationError, names: list[str]) -> None:
    """Every problem as a message naming its cell (never "row 3")."""
    problems = getattr(exc, "problems", [])
    if not problems:
        messages.error(request, exc.message)
    for p in problems:
        where = names[p.index] if p.index is not None and p.index < len(names) else p.where
        messages.error(request, f"{where}: {p.message}" if where else p.message)


@login_required
@require_http_methods(["GET", "POST"])
def month_close_view(request: HttpRequest, code: str) -> HttpResponse:
    stream = value_streams_visible(user=request.user).filter(code=code).first()
    if stream is None:
        raise Http404(f"There is no value stream {code} you may see.")
    month = (
        month_query(request, instead=f"showing the last closed month, {last_closed_month():%Y-%m}")
        or last_closed_month()
    )
    if month > current_month():
        messages.warning(
            request,
            f"{month:%Y-%m} has not started yet: showing the current month, "
            f"{current_month():%Y-%m}.",
        )
        month = current_month()
    families = list(stream.families.filter(active=True).order_by("code"))
    rights = actual_rights(user=request.user)
    status = 200
    if request.method == "POST":
        cells, names, unreadable = _inputs(
            request.POST, stream=stream.code, month=month, families=[f.code for f in families]
        )
        try:
            if unreadable:  # every problem at once: the unreadable and the service's
                try:
                    actuals_upsert(cells=cells, user=request.user, source="page", dry_run=True)
                except ApplicationError as exc:
                    _named_problems(request, exc, names)
                raise ValidationFailed(
                    f"{len(unreadable)} value(s) are not numbers; nothing was saved.",
                    problems=[Problem("not_a_number", text) for text in unreadable],
                )
            result = actuals_upsert(
                cells=cells, user=request.user, source="page", check_versions=True
            )
        except ApplicationError as exc:
            _named_problems(request, exc, names)
            status = exc.status
        else:
            messages.success(
                request,
                f"Month close {month:%Y-%m}: {result.summary()}." if cells else "No change.",
            )
            return redirect(f"{request.path}?month={month:%Y-%m}")
    stored = actuals_for_stream_month(value_stream=stream, month=month)
    currency = company_currency()

    def cell(family: str, measure: str) -> dict:
        a = stored.get((family, measure))
        return {
            "name": f"{measure}:{family}",
            "measure": measure,
            "label": _label_with_unit(measure, currency),
            "value": "" if a is None else f"{a.value.normalize():f}",
            "shown": "" if a is None else f"{a.value.normalize():,f}",
            "version": 0 if a is None else a.version,
            "who": a.updated_by if a else None,
            "when": a.updated_at if a else None,
            "may_edit": rights.may_edit(value_stream_id=stream.pk, measure=measure),
        }

    context = {
        "stream": stream,
        "month": month,
        "previous": month_add(month, -1),
        "stream_cells": [cell("", m) for m in ACTUAL_STREAM_FACTS],
        "family_rows": [
            {"family": f, "cells": [cell(f.code, m) for m in ACTUAL_FAMILY_FACTS]} for f in families
        ],
        "family_labels": [ACTUAL_LABELS[m] for m in ACTUAL_FAMILY_FACTS],
        "may_edit": rights.may_edit(value_stream_id=stream.pk),
        "history": ActualChange.objects.filter(value_stream=stream, month=month)
        .select_related("product_family", "changed_by")
        .order_by("-changed_at", "-pk")[:50],
    }
    return render(request, "planning/month_close.html", context, status=status)


@login_required
def box_score_download(request: HttpRequest) -> HttpResponse:
    """``/box-score/download/?month=YYYY-MM``: the CSV ``export_box_score`` writes, for
    the streams the user sees."""
    from planning.api.actuals import closed_box_score_rows
    from planning.exports import box_score_csv

    month, rows = closed_box_score_rows(
        user=request.user,
        month_text=request.GET.get("month"),
        value_stream=request.GET.get("value_stream"),
    )
    response = HttpResponse(box_score_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="box-score-{month:%Y-%m}.csv"'
    return response


@login_required
def sofp_results_view(request: HttpRequest) -> HttpResponse:
    """ "SOFP results": the measures behind the method's claims, month by month."""
    from planning.selectors.actuals import sofp_results_page
    from valuestreams.roles import user_reads_all_streams

    if not user_reads_all_streams(request.user):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("SOFP results are company-wide: for those who read every stream.")
    rows, changes = sofp_results_page()
    context = {"rows": rows, "changes": changes, "currency": company_currency()}
    return render(request, "planning/sofp_results.html", context)
