"""``/api/v1/actuals/``: facts of past months (SOFP.md "Actuals"), not per cycle.

``GET`` lists them (filters: value_stream, product_family, measure, month_from,
month_to, updated_since; paginated); ``POST bulk/`` creates, changes or clears many in
one atomic request through ``actuals_upsert(check_versions=True)`` — the same rules and
answers as the Month close page and ``import_actuals``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from planning.api.renderers import format_plan_value
from planning.api.serializers import CODE_MAX, MONTH_HELP, MonthField, PlanValueInputField
from planning.calendar import parse_month
from planning.measures import ACTUAL_FACTS
from planning.models import Actual
from planning.selectors.actuals import (
    box_score_export_rows,
    last_closed_month,
    refuse_open_month,
)
from planning.services.actuals import ActualInput, actuals_upsert
from sofp.api.pagination import ApiPagination
from sofp.api.parsers import JSONParser
from sofp.api.views import E400, E401, E413, E415, E429, READ_ERRORS, ApiView, error_response
from sofp.errors import NotFound, ValidationFailed
from valuestreams.roles import user_reads_all_streams
from valuestreams.selectors import value_streams_visible

MAX_BULK_ROWS = 20_000


def _utc(value) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ActualSerializer(serializers.Serializer):
    value_stream = serializers.CharField(help_text="Value stream code.")
    product_family = serializers.CharField(help_text="Family code; '' for stream measures.")
    month = serializers.CharField(help_text=MONTH_HELP)
    measure = serializers.ChoiceField(choices=ACTUAL_FACTS, help_text="Actual measure.")
    value = serializers.CharField(help_text="Exact decimal string with 6 decimals.")
    version = serializers.IntegerField(help_text="Grows by one on each change.")
    updated_at = serializers.CharField(help_text="When it last changed (UTC, Z).")
    updated_by = serializers.CharField(allow_null=True, help_text="Who changed it last.")

    def to_representation(self, a: Actual) -> dict[str, Any]:
        return {
            "value_stream": a.value_stream.code,
            "product_family": a.product_family.code if a.product_family_id else "",
            "month": a.month.strftime("%Y-%m"),
            "measure": a.measure,
            "value": format_plan_value(a.value),
            "version": a.version,
            "updated_at": _utc(a.updated_at),
            "updated_by": a.updated_by.username if a.updated_by_id else None,
        }


class ActualInputSerializer(serializers.Serializer):
    value_stream = serializers.CharField(max_length=CODE_MAX, help_text="Value stream code.")
    product_family = serializers.CharField(
        max_length=CODE_MAX, allow_blank=True, default="", help_text="Family code, or empty."
    )
    month = MonthField(help_text="Month (YYYY-MM), up to the current one.")
    measure = serializers.ChoiceField(choices=ACTUAL_FACTS, help_text="Actual measure.")
    value = PlanValueInputField(allow_null=True, help_text="Decimal ≥ 0; null clears it.")
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2_147_483_647,
        help_text="Version you read (0 = empty); a stale one gives 409. Optional.",
    )


class ActualsResultSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="Actuals created.")
    changed = serializers.IntegerField(help_text="Actuals whose value changed.")
    unchanged = serializers.IntegerField(help_text="Rows that matched what is stored.")
    deleted = serializers.IntegerField(help_text="Actuals cleared (value null).")
    dry_run = serializers.BooleanField(help_text="True when nothing was written (?dry_run=1).")
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each row with its value (6-decimal string) and version now.",
    )


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.of_field(field, message)


FILTER_PARAMS = [
    OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=text)
    for name, text in (
        ("value_stream", "Value stream code."),
        ("product_family", "Product family code."),
        ("measure", "Actual measure."),
        ("month_from", "First month, YYYY-MM."),
        ("month_to", "Last month, YYYY-MM."),
        ("updated_since", "Only rows changed after this time (ISO 8601 with zone)."),
    )
]


@extend_schema(
    tags=["actuals"],
    parameters=FILTER_PARAMS,
    responses={200: ActualSerializer(many=True), 400: E400, **READ_ERRORS},
)
class ActualListView(ApiView, generics.ListAPIView):
    """Actuals of the streams you may see, oldest month first."""

    serializer_class = ActualSerializer
    pagination_class = ApiPagination

    def get_queryset(self):
        q = self.request.query_params
        qs = Actual.objects.filter(
            value_stream__in=value_streams_visible(user=self.request.user)
        ).select_related("value_stream", "product_family", "updated_by")
        for name, lookup in (
            ("value_stream", "value_stream__code"),
            ("product_family", "product_family__code"),
        ):
            if q.get(name):
                qs = qs.filter(**{lookup: q[name]})
        if q.get("measure"):
            if q["measure"] not in ACTUAL_FACTS:
                raise _bad("measure", f"unknown actual measure {q['measure']!r}")
            qs = qs.filter(measure=q["measure"])
        for name, lookup in (("month_from", "month__gte"), ("month_to", "month__lte")):
            if q.get(name):
                month = parse_month(q[name])
                if month is None:
                    raise _bad(name, f"{q[name]!r} is not a month; write YYYY-MM")
                qs = qs.filter(**{lookup: month})
        if q.get("updated_since"):
            since = parse_datetime(q["updated_since"].replace(" ", "+"))
            if since is None or since.tzinfo is None:
                raise _bad("updated_since", "write an ISO 8601 time with a zone, e.g. …Z")
            qs = qs.filter(updated_at__gt=since)
        return qs.order_by("month", "value_stream__code", "product_family__code", "measure")


@extend_schema(
    tags=["actuals"],
    request=ActualInputSerializer(many=True),
    responses={
        200: ActualsResultSerializer,
        400: E400,
        401: E401,
        403: error_response("A row you may not change (rows listed)."),
        409: error_response("A version you sent is stale (conflicts list the current values)."),
        413: E413,
        415: E415,
        429: E429,
    },
)
class ActualBulkView(ApiView):
    """Create, change or clear many actuals at once: all or nothing; errors name the
    row ``index`` and ``field``; ``?dry_run=1`` validates only."""

    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        rows = ActualInputSerializer(data=request.data, many=True, max_length=MAX_BULK_ROWS)
        rows.is_valid(raise_exception=True)
        cells = [
            ActualInput(
                r["value_stream"],
                r["product_family"],
                r["month"],
                r["measure"],
                r["value"],
                r.get("version"),
            )
            for r in rows.validated_data
        ]
        dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
        result = actuals_upsert(
            cells=cells, user=request.user, source="api", check_versions=True, dry_run=dry_run
        )
        out = [
            {
                "index": i,
                "value_stream": c.value_stream,
                "product_family": c.product_family,
                "month": c.month.strftime("%Y-%m"),
                "measure": c.measure,
                "value": None if value is None else format_plan_value(value),
                "version": version,
            }
            for i, (c, (value, version)) in enumerate(zip(cells, result.stored, strict=True))
        ]
        return Response({**result.as_dict(), "dry_run": dry_run, "rows": out})


def closed_box_score_rows(
    *, user, month_text: str | None, value_stream: str | None = None
) -> tuple[dt.date, pd.DataFrame]:
    """The box score rows of a closed month for the streams ``user`` sees (company rows
    only for those who read every stream), or for the one ``value_stream`` named (an
    unknown or hidden one is a 404, never the whole list). One answer for the API and
    the download."""
    month = last_closed_month() if month_text is None else parse_month(month_text)
    if month is None:
        raise _bad("month", f"{month_text!r} is not a month; write YYYY-MM")
    refuse_open_month(month)
    streams = list(value_streams_visible(user=user))
    if value_stream is not None:
        streams = [vs for vs in streams if vs.code == value_stream]
        if not streams:
            raise NotFound(f"There is no value stream {value_stream[:40]!r} you may see.")
    rows = box_score_export_rows(month=month, value_streams=streams)
    if value_stream is not None or not user_reads_all_streams(user):
        rows = rows[rows["value_stream"] != ""]
    return month, rows


@extend_schema(
    tags=["actuals"],
    parameters=[
        OpenApiParameter(
            "month",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            description="Closed month, YYYY-MM (default: the last closed month).",
            pattern=r"^[0-9]{4}-[0-9]{2}$",
        ),
        OpenApiParameter(
            "value_stream",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            description="Only this value stream (no company rows); unknown or hidden: 404.",
        ),
    ],
    responses={200: OpenApiTypes.OBJECT, 400: E400, **READ_ERRORS},
)
class ClosedBoxScoreView(ApiView):
    """The box score of a closed month: the measures ``export_box_score`` writes, per
    value stream and for the company (``value_stream`` ""), values as 6-decimal strings
    (null when undefined)."""

    def get(self, request: Request) -> Response:
        month, rows = closed_box_score_rows(
            user=request.user,
            month_text=request.GET.get("month"),
            value_stream=request.GET.get("value_stream"),
        )
        results = [
            {
                "value_stream": vs,
                "month": str(m),
                "measure": measure,
                "value": None if value != value else format_plan_value(float(value)),
            }
            for vs, m, measure, value in rows.itertuples(index=False)
        ]
        return Response({"month": f"{month:%Y-%m}", "count": len(results), "results": results})
