"""A cycle's assumption register in the API: list (filters), create, read, change
(versions: a stale one is 409) and delete, with the browser's rights and freeze.

``GET /api/v1/cycles/YYYY-MM/assumptions/?value_stream=&product_family=&measure=
&status=&month=&owner=`` · ``POST`` the same path · ``GET|PATCH|DELETE …/assumptions/ID/``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from planning.api import serializers as s
from planning.api.views import CYCLE_PARAM, CycleMixin
from planning.api.workflow import WRITE_ERRORS
from planning.models import ASSUMPTION_MEASURES, Assumption, AssumptionStatus
from planning.selectors.assumptions import (
    assumption_dict,
    assumption_filters,
    assumption_rights,
    assumptions_filtered,
    assumptions_visible,
)
from planning.services.assumptions import (
    IMPACT_MAX,
    TEXT_MAX,
    assumption_create,
    assumption_delete,
    assumption_update,
)
from planning.services.decisions import user_resolve
from sofp.api.parsers import JSONParser
from sofp.api.serializers import StrictCharField
from sofp.api.views import READ_ERRORS, ApiView


class AssumptionSerializer(serializers.Serializer):
    """One assumption as the API returns it."""

    id = serializers.IntegerField(help_text="The assumption's id.")
    cycle = serializers.CharField(help_text="The cycle, YYYY-MM.")
    value_stream = serializers.CharField(help_text="Value stream code.")
    product_family = serializers.CharField(help_text="'' = every family of the stream.")
    measure = serializers.CharField(help_text="Plan measure it is about.")
    measure_label = serializers.CharField(help_text="The measure as people read it.")
    first_month = serializers.CharField(help_text="YYYY-MM")
    last_month = serializers.CharField(help_text="YYYY-MM")
    text = serializers.CharField(help_text="What the plan assumes.")
    owner = serializers.CharField(help_text="Owner's username.")
    impact = serializers.CharField(help_text="What it does to the plan (free text).")
    status = serializers.ChoiceField(
        choices=AssumptionStatus.values, help_text="open, confirmed or retired."
    )
    version = serializers.IntegerField(help_text="Send it back with a change (409 if stale).")
    updated_by = serializers.CharField(help_text="Who changed it last (username).")
    updated_at = serializers.CharField(help_text="When it changed last (ISO 8601).")
    grid_url = serializers.CharField(help_text="The covered cells in the grid.")
    can_change = serializers.BooleanField(help_text="Whether you may change or delete it.")


class AssumptionInputSerializer(serializers.Serializer):
    value_stream = s._code("Value stream code.")
    product_family = s._code("Product family code; empty = every family of the stream.")
    measure = serializers.ChoiceField(choices=ASSUMPTION_MEASURES, help_text="Plan measure.")
    first_month = s.MonthField(help_text="First month covered, YYYY-MM.")
    last_month = s.MonthField(required=False, help_text="Last month covered (default: first).")
    text = StrictCharField(max_length=TEXT_MAX, help_text="What the plan assumes.")
    owner = StrictCharField(
        required=False, allow_blank=True, max_length=150, help_text="Username (default: you)."
    )
    impact = StrictCharField(
        required=False, allow_blank=True, max_length=IMPACT_MAX, help_text="e.g. +50 units/month"
    )
    status = serializers.ChoiceField(
        choices=AssumptionStatus.values, required=False, help_text="open (default), confirmed…"
    )


class AssumptionUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, help_text="The version you read (409 if stale)."
    )
    value_stream = StrictCharField(
        required=False, max_length=s.CODE_MAX, help_text="Move it to this stream."
    )
    product_family = StrictCharField(
        required=False, allow_blank=True, max_length=s.CODE_MAX, help_text="Family; '' = all."
    )
    measure = serializers.ChoiceField(
        choices=ASSUMPTION_MEASURES, required=False, help_text="Plan measure."
    )
    first_month = s.MonthField(required=False, help_text="First month covered, YYYY-MM.")
    last_month = s.MonthField(required=False, help_text="Last month covered, YYYY-MM.")
    text = StrictCharField(required=False, max_length=TEXT_MAX, help_text="New text.")
    owner = StrictCharField(required=False, max_length=150, help_text="Username.")
    impact = StrictCharField(
        required=False, allow_blank=True, max_length=IMPACT_MAX, help_text="New impact."
    )
    status = serializers.ChoiceField(
        choices=AssumptionStatus.values, required=False, help_text="open, confirmed or retired."
    )


FILTER_PARAMS = [
    OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=text)
    for name, text in (
        ("value_stream", "Stream code."),
        ("product_family", "Family code (stream-wide assumptions of its stream too)."),
        ("measure", "Measure."),
        ("status", "open, confirmed or retired."),
        ("month", "Covers this month (YYYY-MM)."),
        ("owner", "Owner's username."),
    )
]
ID_PARAM = OpenApiParameter(
    "assumption_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Assumption id."
)


def _out(a: Assumption, request: Request) -> dict:
    return assumption_dict(a, rights=assumption_rights(user=request.user))


@extend_schema(tags=["assumptions"], parameters=[CYCLE_PARAM, *FILTER_PARAMS])
class AssumptionListView(CycleMixin, ApiView):
    """The cycle's assumptions of the streams you read (filters as on the page)."""

    parser_classes = [JSONParser]

    @extend_schema(responses={200: AssumptionSerializer(many=True), **READ_ERRORS})
    def get(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        rights = assumption_rights(user=request.user)
        qs = assumptions_filtered(
            assumptions_visible(cycle=cycle, user=request.user),
            assumption_filters(request.query_params),
        )
        return Response([assumption_dict(a, rights=rights) for a in qs])

    @extend_schema(
        request=AssumptionInputSerializer,
        responses={201: AssumptionSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        data = AssumptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        a = assumption_create(
            cycle=cycle,
            user=request.user,
            value_stream=d["value_stream"],
            product_family=d["product_family"],
            measure=d["measure"],
            first_month=d["first_month"],
            last_month=d.get("last_month") or d["first_month"],
            text=d["text"],
            owner=user_resolve(d.get("owner") or "") or request.user,
            impact=d.get("impact", ""),
            status=d.get("status") or AssumptionStatus.OPEN,
            source="api",
        )
        return Response(_out(a, request), status=201)


@extend_schema(tags=["assumptions"], parameters=[CYCLE_PARAM, ID_PARAM])
class AssumptionDetailView(CycleMixin, ApiView):
    """One assumption: read it, change it (send the version you read), delete it."""

    parser_classes = [JSONParser]

    def _get(self, request: Request, assumption_id: int) -> Assumption:
        cycle = self.get_cycle()
        a = assumptions_visible(cycle=cycle, user=request.user).filter(pk=assumption_id).first()
        if a is None:
            raise NotFound(f"Cycle {cycle.label} has no assumption {assumption_id} you may read.")
        return a

    @extend_schema(responses={200: AssumptionSerializer, **READ_ERRORS})
    def get(self, request: Request, month: str, assumption_id: int) -> Response:
        return Response(_out(self._get(request, assumption_id), request))

    @extend_schema(
        request=AssumptionUpdateSerializer,
        responses={200: AssumptionSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, month: str, assumption_id: int) -> Response:
        a = self._get(request, assumption_id)
        data = AssumptionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(data.validated_data)
        version = changes.pop("version")
        if "owner" in changes:
            changes["owner"] = user_resolve(changes["owner"])
        a = assumption_update(
            assumption=a, user=request.user, version=version, changes=changes, source="api"
        )
        return Response(_out(a, request))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "version",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description="The version you read: a stale one gives 409.",
            )
        ],
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, month: str, assumption_id: int) -> Response:
        a = self._get(request, assumption_id)
        text = request.query_params.get("version", "")
        assumption_delete(
            assumption=a,
            user=request.user,
            version=int(text) if text.isdigit() else None,
            source="api",
        )
        return Response(status=204)
