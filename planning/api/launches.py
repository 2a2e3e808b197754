"""NPD launches in the API (``/api/v1/cycles/YYYY-MM/launches/``): list, create, read
and update with versions (a stale version is 409), with the browser's rights — the NPD
stream's managers and executives change them, everyone who reads the stream reads them.
The same services as the register page; errors through the one mapper."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from planning.api.views import CYCLE_PARAM, CycleMixin
from planning.api.workflow import WRITE_ERRORS
from planning.models import MAX_RAMP_MONTHS, LaunchStatus
from planning.selectors.launches import launch_dict, launches_visible
from planning.services.launches import launch_create, launch_update
from sofp.api.parsers import JSONParser
from sofp.api.serializers import StrictCharField
from sofp.api.views import READ_ERRORS, ApiView
from sofp.errors import NotFound

MONTH = r"^[0-9]{4}-[0-9]{2}$"


def _month(help_text: str, **kw) -> serializers.RegexField:
    # The same words as every other month field of the API, not the regex's.
    errors = {"invalid": "Enter a month as YYYY-MM, e.g. 2027-01."}
    return serializers.RegexField(
        MONTH, max_length=7, help_text=help_text, error_messages=errors, **kw
    )


def _hours_field(**kw) -> serializers.DictField:
    return serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=999_999),
        help_text='Development hours per month before launch: {"YYYY-MM": hours}.',
        **kw,
    )


def _ramp_field(**kw) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FloatField(min_value=0, max_value=999_999_999),
        max_length=MAX_RAMP_MONTHS,
        help_text="Units per month from the launch month on (index 0 = launch month).",
        **kw,
    )


class LaunchSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The launch's id in this cycle.")
    cycle = serializers.CharField(help_text="Cycle month, YYYY-MM.")
    product_family = serializers.CharField(help_text="The new family's code.")
    family_name = serializers.CharField(help_text="The new family's name.")
    npd_stream = serializers.CharField(help_text="The NPD value stream developing it.")
    receiving_stream = serializers.CharField(help_text="The stream the new family is in.")
    status = serializers.ChoiceField(
        choices=LaunchStatus.choices, help_text="planned, launched or cancelled."
    )
    planned_month = serializers.CharField(help_text="Planned launch month, YYYY-MM.")
    committed_month = serializers.CharField(
        allow_null=True, help_text="Planned month in the first approved cycle that held it."
    )
    actual_month = serializers.CharField(allow_null=True, help_text="YYYY-MM once launched.")
    months_late = serializers.IntegerField(help_text="Planned (or actual) after committed.")
    ramp = serializers.ListField(
        child=serializers.FloatField(), help_text="Units per month from the launch month."
    )
    development_hours = serializers.DictField(
        child=serializers.FloatField(), help_text='Hours per month before launch, {"YYYY-MM": h}.'
    )
    note = serializers.CharField(allow_blank=True, help_text="Free text.")
    version = serializers.IntegerField(help_text="Send it back with an update; grows.")
    updated_by = serializers.CharField(allow_null=True, help_text="Who changed it last.")
    updated_at = serializers.CharField(allow_null=True, help_text="When (ISO 8601).")


class LaunchCreateSerializer(serializers.Serializer):
    npd_stream = StrictCharField(max_length=40, help_text="NPD value stream code.")
    receiving_stream = StrictCharField(max_length=40, help_text="Receiving stream code.")
    product_family = StrictCharField(max_length=40, help_text="The new family's code.")
    family_name = StrictCharField(
        max_length=200, required=False, allow_blank=True, help_text="Name (default: code)."
    )
    planned_month = _month("Planned launch month, not before the cycle.")
    unit_price = serializers.FloatField(
        min_value=0, max_value=999_999_999, required=False, help_text="Unit price (0)."
    )
    unit_material_cost = serializers.FloatField(
        min_value=0, max_value=999_999_999, required=False, help_text="Material cost (0)."
    )
    hours_per_unit = serializers.FloatField(
        min_value=0, max_value=999_999, required=False, help_text="Hours per unit (0)."
    )
    ramp = _ramp_field(required=False)
    development_hours = _hours_field(required=False)
    note = StrictCharField(
        max_length=2000, required=False, allow_blank=True, help_text="Free text."
    )


class LaunchUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, help_text="The version you read; stale: 409."
    )
    planned_month = _month("New planned launch month.", required=False)
    status = serializers.ChoiceField(
        choices=LaunchStatus.choices, required=False, help_text="planned, launched or cancelled."
    )
    actual_month = _month("Actual launch month (launched only).", required=False, allow_null=True)
    ramp = _ramp_field(required=False)
    development_hours = _hours_field(required=False)
    note = StrictCharField(
        max_length=2000, required=False, allow_blank=True, help_text="Free text."
    )


LAUNCH_PARAM = OpenApiParameter(
    "launch_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Launch id."
)


@extend_schema(tags=["launches"], parameters=[CYCLE_PARAM])
class LaunchListView(CycleMixin, ApiView):
    """The cycle's launches (of the NPD streams you read), and new ones."""

    parser_classes = [JSONParser]

    @extend_schema(responses={200: LaunchSerializer(many=True), **READ_ERRORS})
    def get(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        return Response([launch_dict(x) for x in launches_visible(user=request.user, cycle=cycle)])

    @extend_schema(
        request=LaunchCreateSerializer, responses={201: LaunchSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        data = LaunchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        launch = launch_create(cycle=cycle, user=request.user, data=data.validated_data)
        launch = launches_visible(user=request.user, cycle=cycle).get(pk=launch.pk)
        return Response(launch_dict(launch), status=201)


@extend_schema(tags=["launches"], parameters=[CYCLE_PARAM, LAUNCH_PARAM])
class LaunchDetailView(CycleMixin, ApiView):
    """One launch: read it, or change it with the version you read."""

    parser_classes = [JSONParser]

    def _launch(self, request: Request, launch_id: int):
        cycle = self.get_cycle()
        launch = launches_visible(user=request.user, cycle=cycle).filter(pk=launch_id).first()
        if launch is None:
            raise NotFound(f"Cycle {cycle.label} has no launch {launch_id} you may read.")
        return cycle, launch

    @extend_schema(responses={200: LaunchSerializer, **READ_ERRORS})
    def get(self, request: Request, month: str, launch_id: int) -> Response:
        _, launch = self._launch(request, launch_id)
        return Response(launch_dict(launch))

    @extend_schema(
        request=LaunchUpdateSerializer, responses={200: LaunchSerializer, **WRITE_ERRORS}
    )
    def patch(self, request: Request, month: str, launch_id: int) -> Response:
        cycle, launch = self._launch(request, launch_id)
        data = LaunchUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        version = changes.pop("version")
        launch = launch_update(launch=launch, user=request.user, changes=changes, version=version)
        launch = launches_visible(user=request.user, cycle=cycle).get(pk=launch.pk)
        return Response(launch_dict(launch))
