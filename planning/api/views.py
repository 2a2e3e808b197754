"""REST API for cycles, plan values, actuals and the engine's numbers (``/api/v1/``).

Thin: an input serializer checks types and formats, one service or selector does the
work, an output serializer renders. Every write goes through
``plan_values_upsert(check_versions=True, source="api")``, so the API says "no" exactly
where the browser does. Errors are shaped by ``sofp.api.exceptions.exception_handler``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from planning.api import serializers as s
from planning.api.filters import EngineFilterForm, PlanValueFilter, ScenarioCellFilter
from planning.api.plan_value_pages import (
    PlanValuePage,
    PlanValuePagination,
    PreparedPlanValuePage,
)
from planning.api.renderers import (
    FILE_FORMATS,
    PlanCSVRenderer,
    PlanXLSXRenderer,
    format_plan_value,
)
from planning.exports import export_filename
from planning.models import PlanningCycle, PlanValue, PlanValueChange
from planning.selectors.baseline import baseline_fits, baseline_run_latest, cycle_fva
from planning.selectors.navigation import cycle_by_label
from planning.selectors.plans import (
    cycle_analysis,
    cycle_box_score,
    cycle_export_frame,
    cycle_for_api,
    cycle_projection,
    cycles_list,
    family_stream_codes,
    plan_values_visible,
    stream_headcounts,
    stream_scope,
)
from planning.selectors.scenarios import scenario_get
from planning.services.approval import cycle_approve
from planning.services.baseline import baseline_request
from planning.services.plan_values import CellInput, UpsertResult, plan_values_upsert
from sofp.api.pagination import ApiPagination
from sofp.api.parsers import JSONParser
from sofp.api.views import (
    E400,
    E401,
    E404,
    E413,
    E415,
    E429,
    JSON_RENDERERS,
    READ_ERRORS,
    ApiView,
    error_response,
)
from sofp.errors import PermissionDenied, Problem, ValidationFailed

MAX_BULK_ROWS = 20_000
FILE_RENDERERS = [*JSON_RENDERERS, PlanCSVRenderer, PlanXLSXRenderer]
E409 = error_response(
    "Conflict: the cycle is approved (frozen), or a version you sent is stale "
    "(conflicts list the current values).",
    s.ConflictErrorSerializer,
)
CYCLE_PARAM = OpenApiParameter(
    "month",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Cycle month, YYYY-MM.",
    pattern=r"^[0-9]{4}-[0-9]{2}$",
)
DRY_RUN_PARAM = OpenApiParameter(
    "dry_run",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    description="Validate and report what would change, but write nothing.",
)


SCENARIO_PARAM = OpenApiParameter(
    "scenario",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="A scenario of the cycle (its name); without it, the plan itself.",
    pattern=r"^[a-z0-9][a-z0-9-]{0,39}$",
)


class CycleMixin:
    kwargs: dict[str, Any]
    # Views that serve a scenario as they serve the plan (``?scenario=NAME``).
    scenario_aware = False

    def get_cycle(self) -> PlanningCycle:
        cycle = cycle_by_label(self.kwargs["month"])  # cycle_get_by_label, compiled once
        if cycle is None:
            raise NotFound(f"There is no cycle {self.kwargs['month']}.")
        params = self.request.query_params  # type: ignore[attr-defined]
        if self.scenario_aware and "scenario" in params:
            # Present means a scenario: an empty or bad name is a 400, an unknown one a 404.
            cycle = cycle.in_scenario(scenario_get(cycle=cycle, name=params["scenario"]))
        return cycle


def _file_name(request: Request, response: Response, stem: str) -> Response:
    fmt = getattr(request.accepted_renderer, "format", "")
    if fmt in FILE_FORMATS:
        response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


# --------------------------------------------------------------------------- cycles


@extend_schema(tags=["cycles"], responses={200: s.CycleSerializer(many=True), **READ_ERRORS})
class CycleListView(ApiView, generics.ListAPIView):
    """All planning cycles, newest first."""

    serializer_class = s.CycleSerializer
    pagination_class = ApiPagination
    filter_backends: list = []

    def get_queryset(self):
        return cycles_list().select_related("approved_by")


@extend_schema(
    tags=["cycles"],
    parameters=[CYCLE_PARAM],
    responses={200: s.CycleDetailSerializer, **READ_ERRORS},
)
class CycleDetailView(ApiView):
    """One cycle with its five steps and its decisions."""

    def get(self, request: Request, month: str) -> Response:
        cycle = cycle_for_api(month)
        if cycle is None:
            raise NotFound(f"There is no cycle {month}.")
        return Response(s.CycleDetailSerializer(cycle).data)


@extend_schema(
    tags=["cycles"],
    parameters=[CYCLE_PARAM],
    request=s.ApproveInputSerializer,
    responses={
        200: s.CycleDetailSerializer,
        400: E400,
        401: E401,
        403: error_response("Only executives approve the plan."),
        404: E404,
        409: error_response(
            "Already approved, or steps 1–4 not done and no override reason given."
        ),
        429: E429,
    },
)
class CycleApproveView(CycleMixin, ApiView):
    """Approve the cycle's plan (executives only): it freezes for good."""

    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        data = s.ApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cycle_approve(
            cycle=cycle, user=request.user, override_reason=data.validated_data["override_reason"]
        )
        return Response(s.CycleDetailSerializer(cycle_for_api(month)).data)


# --------------------------------------------------------------------------- plan values


@extend_schema(
    tags=["plan values"],
    parameters=[CYCLE_PARAM, SCENARIO_PARAM],
    responses={
        (200, "application/json"): s.PlanValueSerializer(many=True),
        (200, "text/csv"): OpenApiTypes.STR,
        (200, PlanXLSXRenderer.media_type): OpenApiTypes.BINARY,
        400: E400,
        **READ_ERRORS,
    },
)
class PlanValueListView(CycleMixin, ApiView, generics.ListAPIView):
    """The cycle's stored input values in the long format, for the streams you may see.

    Paginated (``page``, ``page_size`` up to 5000). ``?format=csv`` or ``xlsx`` returns
    every matching row as a file in the import/export contract (not paginated).
    """

    serializer_class = s.PlanValueSerializer
    pagination_class = PlanValuePagination
    renderer_classes = FILE_RENDERERS
    scenario_aware = True

    @property
    def filterset_class(self):
        """A scenario's cells live in their own table: the same filters on it."""
        if getattr(self, "request", None) is not None and "scenario" in self.request.query_params:
            return ScenarioCellFilter
        return PlanValueFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return PlanValue.objects.none()
        # A sync client asking what changed also hears of cleared cells (value null).
        return plan_values_visible(
            cycle=self.get_cycle(),
            user=self.request.user,
            include_cleared=bool(self.request.query_params.get("updated_since")),
        )

    def filter_queryset(self, queryset):
        # Without any of the filters' parameters the filter set changes nothing (every
        # filter is optional): skip building and validating its form for each page.
        if not self._filtered():
            return queryset
        return super().filter_queryset(queryset)

    def _filtered(self) -> bool:
        """Whether the request names any of the filters' parameters."""
        params = self.request.query_params
        return any(name in params for name in self.filterset_class.base_filters)

    @property
    def paginator(self):
        fmt = getattr(getattr(self.request, "accepted_renderer", None), "format", None)
        return None if fmt in FILE_FORMATS else super().paginator

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if self.paginator is None:  # a file: every row, through the serializer
            response = super().list(request, *args, **kwargs)
            return _file_name(request, response, f"sofp-plan-values-{self.kwargs['month']}")
        # A page of JSON from plain rows: what the serializer writes, without building
        # three model instances per row (most of the time of a 1,000-row page).
        params = request.query_params
        if "scenario" in params or self._filtered():
            source = PlanValuePage(self.filter_queryset(self.get_queryset()))
        else:  # the common page: the plan, no filter; its query compiled once
            source = PreparedPlanValuePage(
                cycle=self.get_cycle(),
                user=request.user,
                include_cleared=bool(params.get("updated_since")),
            )
        page = self.paginate_queryset(source)
        return self.get_paginated_response(page)


def _row_results(cells: list[CellInput], result: UpsertResult) -> list[dict]:
    return [
        {
            "index": i,
            "value_stream": c.value_stream,
            "product_family": c.product_family,
            "month": c.month.strftime("%Y-%m"),
            "measure": c.measure,
            "value": stored.value,
            "version": stored.version,
        }
        for i, (c, stored) in enumerate(zip(cells, result.stored, strict=True))
    ]


def _upsert(request: Request, cycle: PlanningCycle, cells: list[CellInput]) -> Response:
    dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
    result = plan_values_upsert(
        cycle=cycle,
        cells=cells,
        user=request.user,
        source=PlanValueChange.Source.API,
        check_versions=True,
        dry_run=dry_run,
    )
    payload = {**result.as_dict(), "dry_run": dry_run, "rows": _row_results(cells, result)}
    return Response(s.UpsertResultSerializer(payload).data)


UPSERT_RESPONSES = {
    200: s.UpsertResultSerializer,
    400: E400,
    401: E401,
    403: error_response("A row is in a value stream you may not edit (rows listed)."),
    404: E404,
    409: E409,
    413: E413,
    415: E415,
    429: E429,
}


@extend_schema(
    tags=["plan values"],
    parameters=[CYCLE_PARAM, DRY_RUN_PARAM, SCENARIO_PARAM],
    request=s.PlanValueRowInputSerializer(many=True, max_length=MAX_BULK_ROWS),
    responses=UPSERT_RESPONSES,
    examples=[
        OpenApiExample(
            "Two rows, one with the version it was read at",
            value=[
                {
                    "value_stream": "PUMPS",
                    "product_family": "P-100",
                    "month": "2027-01",
                    "measure": "demand",
                    "value": "120.5",
                    "version": 3,
                },
                {
                    "value_stream": "PUMPS",
                    "month": "2027-01",
                    "measure": "available_hours",
                    "value": 1600,
                },
            ],
            request_only=True,
        )
    ],
)
class PlanValueBulkView(CycleMixin, ApiView):
    """Create, change or clear many cells in one atomic request.

    All or nothing: any bad row, a row you may not edit, a stale ``version`` or a frozen
    cycle and nothing is written. Errors name the row ``index`` and ``field``.
    """

    parser_classes = [JSONParser]
    scenario_aware = True

    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        rows = s.PlanValueRowInputSerializer(data=request.data, many=True, max_length=MAX_BULK_ROWS)
        rows.is_valid(raise_exception=True)
        cells = [
            CellInput(
                r["value_stream"],
                r["product_family"],
                r["month"],
                r["measure"],
                r["value"],
                r.get("version"),
            )
            for r in rows.validated_data
        ]
        return _upsert(request, cycle, cells)


@extend_schema(
    tags=["plan values"],
    parameters=[CYCLE_PARAM, DRY_RUN_PARAM],
    request=s.ActualRowInputSerializer(many=True, max_length=MAX_BULK_ROWS),
    responses=UPSERT_RESPONSES,
    examples=[
        OpenApiExample(
            "Actual sales of one family",
            value=[{"product_family": "P-100", "month": "2026-12", "value": "118"}],
            request_only=True,
        )
    ],
)
class ActualsView(CycleMixin, ApiView):
    """Push actual sales (units) per family and month: the 12 months before the cycle's
    first month or inside its horizon. Same rules and answers as the bulk upsert."""

    parser_classes = [JSONParser]

    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        rows = s.ActualRowInputSerializer(data=request.data, many=True, max_length=MAX_BULK_ROWS)
        rows.is_valid(raise_exception=True)
        stream_of = family_stream_codes(codes=(r["product_family"] for r in rows.validated_data))
        cells = [
            CellInput(
                r["value_stream"] or stream_of.get(r["product_family"], ""),
                r["product_family"],
                r["month"],
                "actual_sales",
                r["value"],
                r.get("version"),
            )
            for r in rows.validated_data
        ]
        try:
            return _upsert(request, cycle, cells)
        except ValidationFailed as exc:
            # An unknown family has no stream to derive: report the family only.
            problems = [p for p in exc.problems if p.code != "needs_value_stream"]
            raise ValidationFailed(exc.message, problems=problems) from exc


# --------------------------------------------------------------------------- engine


ENGINE_PARAMS = [
    CYCLE_PARAM,
    SCENARIO_PARAM,
    OpenApiParameter(
        "value_stream",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Only this value stream's rows (its code); company rows are left out.",
    ),
    OpenApiParameter(
        "month_from",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="First month (YYYY-MM), inclusive.",
        pattern=s.MONTH_PATTERN,
    ),
    OpenApiParameter(
        "month_to",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Last month (YYYY-MM), inclusive.",
        pattern=s.MONTH_PATTERN,
    ),
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1},
        OpenApiParameter.QUERY,
        description="A page number within the paginated result set.",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": ApiPagination.max_page_size},
        OpenApiParameter.QUERY,
        description="Number of results to return per page.",
    ),
]


class EngineView(CycleMixin, ApiView):
    """Base of the views that show the engine's numbers for the streams you may see:
    ``value_stream``, ``month_from`` and ``month_to`` filter the rows, and the rows are
    paginated like every list (``page``, ``page_size``)."""

    pagination_class = ApiPagination
    scenario_aware = True

    def scope(self):
        return stream_scope(user=self.request.user)

    def row_filters(self) -> tuple[str | None, str | None, str | None]:
        """``(value_stream, month_from, month_to)`` from the query; a bad month is a 400."""
        params = self.request.query_params
        form = EngineFilterForm(params)
        if not form.is_valid():
            problems = [
                Problem("invalid", str(msg), field=name)
                for name, errors in form.errors.items()
                for msg in errors
            ]
            raise ValidationFailed("Invalid filters.", problems=problems)
        data = form.cleaned_data
        fmt = "%Y-%m"
        return (
            data.get("value_stream") or None,
            data["month_from"].strftime(fmt) if data.get("month_from") else None,
            data["month_to"].strftime(fmt) if data.get("month_to") else None,
        )

    def filtered(self, rows: list[dict]) -> list[dict]:
        stream, first, last = self.row_filters()
        if stream is not None:
            rows = [r for r in rows if r.get("value_stream") == stream]
        if first is not None:
            rows = [r for r in rows if r.get("month") is None or r["month"] >= first]
        if last is not None:
            rows = [r for r in rows if r.get("month") is None or r["month"] <= last]
        return rows

    def page(self, rows: list[dict]) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(self.filtered(rows), self.request, view=self)
        return paginator.get_paginated_response(page)


@extend_schema(
    tags=["projections"],
    parameters=ENGINE_PARAMS,
    responses={200: s.paginated(s.FamilyProjectionSerializer), 400: E400, **READ_ERRORS},
)
class FamilyProjectionView(EngineView):
    """Per family and horizon month: inventory and days of supply."""

    def get(self, request: Request, month: str) -> Response:
        projection = cycle_projection(cycle=self.get_cycle(), value_streams=self.scope())
        return self.page(s.FamilyProjectionSerializer.frame_data(projection.family))


@extend_schema(
    tags=["projections"],
    parameters=ENGINE_PARAMS,
    responses={200: s.paginated(s.StreamProjectionSerializer), 400: E400, **READ_ERRORS},
)
class StreamProjectionView(EngineView):
    """Per value stream and month: capacity, revenue, costs, profit, inventory value."""

    def get(self, request: Request, month: str) -> Response:
        projection = cycle_projection(cycle=self.get_cycle(), value_streams=self.scope())
        return self.page(s.StreamProjectionSerializer.frame_data(projection.stream))


@extend_schema(
    tags=["projections"],
    parameters=ENGINE_PARAMS,
    responses={200: s.paginated(s.CompanyProjectionSerializer), 400: E400, **READ_ERRORS},
)
class CompanyProjectionView(EngineView):
    """The company roll-up per month (users who read every value stream)."""

    def get(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        if self.scope() is not None:
            raise PermissionDenied("Company figures are for users who read every value stream.")
        projection = cycle_projection(cycle=cycle, value_streams=None)
        return self.page(s.CompanyProjectionSerializer.frame_data(projection.company))


@extend_schema(
    tags=["projections"],
    parameters=ENGINE_PARAMS,
    responses={200: s.paginated(s.BoxScoreSerializer), 400: E400, **READ_ERRORS},
)
class BoxScoreView(EngineView):
    """The lean box score per value stream and month; company rows (value_stream '')
    only for users who read every stream."""

    def get(self, request: Request, month: str) -> Response:
        streams = self.scope()
        analysis = cycle_analysis(cycle=self.get_cycle(), value_streams=streams)
        frame = cycle_box_score(
            analysis=analysis,
            headcount=stream_headcounts(cycle=analysis.cycle, value_streams=streams),
            fva=cycle_fva(cycle=analysis.cycle, value_streams=streams),
        )
        if streams is not None:
            frame = frame[frame["value_stream"] != ""]
        return self.page(s.BoxScoreSerializer.frame_data(frame))


@extend_schema(
    tags=["projections"],
    parameters=ENGINE_PARAMS,
    responses={200: s.paginated(s.ExplainedExceptionSerializer), 400: E400, **READ_ERRORS},
)
class ExceptionsView(EngineView):
    """The step-5 exception list, worst first; a demand change an assumption covers
    lists it in ``explained_by`` (as the review shows it)."""

    def get(self, request: Request, month: str) -> Response:
        from planning.selectors.assumptions import exceptions_explained

        cycle = self.get_cycle()
        analysis = cycle_analysis(cycle=cycle, value_streams=self.scope())
        rows = s.ExceptionSerializer.frame_data(analysis.exceptions)
        for row in exceptions_explained(cycle=cycle, rows=rows):
            row["explained_by"] = [
                {f: a[f] for f in s.EXPLAINING_FIELDS} for a in row["explained_by"]
            ]
        return self.page(rows)


@extend_schema(
    tags=["projections"],
    parameters=ENGINE_PARAMS,
    responses={200: s.AccuracySerializer, 400: E400, **READ_ERRORS},
)
class AccuracyView(EngineView):
    """Lag-1 forecast accuracy of the 12 months before the cycle."""

    def get(self, request: Request, month: str) -> Response:
        streams = self.scope()
        accuracy = cycle_analysis(cycle=self.get_cycle(), value_streams=streams).accuracy
        levels = {
            "family": self.filtered(s.FamilyAccuracySerializer.frame_data(accuracy.family)),
            "stream": self.filtered(s.StreamAccuracySerializer.frame_data(accuracy.stream)),
            "company": (
                self.filtered(s.CompanyAccuracySerializer.frame_data(accuracy.company))
                if streams is None and self.row_filters()[0] is None
                else []
            ),
        }
        # One page of each level, with the same page and page size.
        paginator = self.pagination_class()
        longest = max(levels.values(), key=len)
        paginator.paginate_queryset(longest, self.request, view=self)
        size = paginator.page.paginator.per_page
        start = (paginator.page.number - 1) * size
        body = {
            "count": len(longest),
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            **{level: rows[start : start + size] for level, rows in levels.items()},
        }
        return Response(body)


@extend_schema(
    tags=["projections"],
    parameters=[CYCLE_PARAM, SCENARIO_PARAM],
    responses={
        (200, "application/json"): s.ExportRowSerializer(many=True),
        (200, "text/csv"): OpenApiTypes.STR,
        (200, PlanXLSXRenderer.media_type): OpenApiTypes.BINARY,
        400: E400,
        **READ_ERRORS,
    },
)
class ExportView(EngineView):
    """The full export (inputs + computed measures) in the file contract's long format.

    ``?format=csv`` / ``xlsx`` / ``json``. Company rows only for users who read every
    value stream; others get the rows of their own streams.
    """

    renderer_classes = FILE_RENDERERS
    pagination_class = None  # the whole export: the file contract has no pages

    def get(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        frame = cycle_export_frame(cycle=cycle, user=request.user)
        fmt = request.accepted_renderer.format
        if fmt in FILE_FORMATS:  # the file contract, written by planning.exports
            response = Response(frame)
            scenario = request.query_params.get("scenario", "")
            label = f"{month}-{scenario}" if scenario else month
            response["Content-Disposition"] = (
                f'attachment; filename="{export_filename(label=label, fmt=fmt)}"'
            )
            return response
        rows = [
            {
                "value_stream": vs,
                "product_family": pf,
                "month": m,
                "measure": measure,
                "value": format_plan_value(value) or None,
            }
            for vs, pf, m, measure, value in zip(
                frame["value_stream"].tolist(),
                frame["product_family"].tolist(),
                frame["month"].tolist(),
                frame["measure"].tolist(),
                frame["value"].tolist(),
                strict=True,
            )
        ]
        return Response(rows)


@extend_schema(
    tags=["projections"],
    parameters=[CYCLE_PARAM],
    responses={200: s.FvaSerializer, **READ_ERRORS},
)
class FvaView(EngineView):
    """Forecast value added of the 12 closed months before the cycle (lag 1): naive,
    baseline and final WAPE, FVA of the statistics and of the consensus, per value stream
    and month and pooled; company rows only for users who read every stream."""

    scenario_aware = False  # frozen cycles' forecasts: a scenario changes nothing here

    def get(self, request: Request, month: str) -> Response:
        streams = self.scope()
        fva = cycle_fva(cycle=self.get_cycle(), value_streams=streams)
        monthly, window = fva.monthly, fva.window
        if streams is not None:
            monthly = monthly[monthly["value_stream"] != ""]
            window = window[window["value_stream"] != ""]
        return Response(
            {
                "monthly": s.FvaMonthSerializer.frame_data(monthly),
                "window": s.FvaWindowSerializer.frame_data(window),
            }
        )


@extend_schema(
    tags=["projections"],
    parameters=[CYCLE_PARAM],
    responses={200: s.BaselineSerializer, **READ_ERRORS},
)
class BaselineView(CycleMixin, ApiView):
    """The statistical baseline: the latest run and, per family the user sees, the
    method and its holdout error or why there is none (the values themselves are the
    ``statistical_baseline`` plan values). POST asks for it again (202, the run)."""

    def get(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        streams = stream_scope(user=request.user)
        codes = None if streams is None else [vs.code for vs in streams]
        return Response(
            {
                "run": _run_data(baseline_run_latest(cycle=cycle)),
                "fits": s.BaselineFitSerializer(
                    baseline_fits(cycle=cycle, value_stream_codes=codes), many=True
                ).data,
            }
        )

    @extend_schema(request=None, responses={202: s.BaselineRunSerializer, 409: E409, **READ_ERRORS})
    def post(self, request: Request, month: str) -> Response:
        run = baseline_request(cycle=self.get_cycle(), user=request.user)
        return Response(_run_data(run), status=202)


def _run_data(run) -> dict | None:
    return None if run is None else s.BaselineRunSerializer(run).data
