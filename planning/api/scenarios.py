"""Scenarios in the API: list and create, read and delete, adopt, change a scenario's
prices, and compare the plan with scenarios. Each view calls the service the browser
and the commands call; a scenario's cells are served by the plan's own endpoints with
``?scenario=NAME``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from planning.api.views import CYCLE_PARAM, CycleMixin
from planning.api.workflow import WRITE_ERRORS
from planning.selectors.plans import stream_scope
from planning.selectors.scenarios import (
    scenario_compare,
    scenario_get,
    scenarios_of,
)
from planning.services.cycle_master import cycle_master_update
from planning.services.scenarios import (
    MAX_DESCRIPTION,
    scenario_adopt,
    scenario_create,
    scenario_delete,
)
from sofp.api.parsers import JSONParser
from sofp.api.serializers import StrictCharField
from sofp.api.views import E400, READ_ERRORS, ApiView

NAME_PARAM = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The scenario's name."
)
# Reads that name a scenario: a bad name is a 400, an unknown one a 404.
NAMED_READ_ERRORS = {400: E400, **READ_ERRORS}


class ScenarioSerializer(serializers.Serializer):
    cycle = serializers.CharField(source="cycle.label", help_text="The cycle, YYYY-MM.")
    name = serializers.CharField(help_text="The scenario's name ([a-z0-9][a-z0-9-]{0,39}).")
    description = serializers.CharField(help_text="What the scenario tries.")
    status = serializers.CharField(
        help_text="open, or frozen (the cycle was approved: read-only for good)."
    )
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True, help_text="Who made it."
    )
    created_at = serializers.DateTimeField(help_text="When it was made (UTC).")
    adopted_by = serializers.CharField(
        source="adopted_by.username",
        default=None,
        allow_null=True,
        help_text="Who last adopted it into the plan (null: never).",
    )
    adopted_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was last adopted (null: never)."
    )


class ScenarioInputSerializer(serializers.Serializer):
    # The pattern is checked by the service (one rule, one message).
    name = StrictCharField(
        max_length=200, help_text="The new scenario's name: [a-z0-9][a-z0-9-]{0,39}."
    )
    description = StrictCharField(
        max_length=MAX_DESCRIPTION,
        allow_blank=True,
        default="",
        required=False,
        help_text="What the scenario tries (text).",
    )


class AdoptResultSerializer(serializers.Serializer):
    cells = serializers.IntegerField(help_text="Plan cells added, changed or cleared.")
    prices = serializers.IntegerField(help_text="Prices and material costs changed.")


class PriceChangeSerializer(serializers.Serializer):
    product_family = StrictCharField(max_length=40, help_text="Product family code.")
    unit_price = serializers.DecimalField(
        max_digits=16,
        decimal_places=4,
        required=False,
        min_value=0,
        help_text="The scenario's unit price.",
    )
    unit_material_cost = serializers.DecimalField(
        max_digits=16,
        decimal_places=4,
        required=False,
        min_value=0,
        help_text="The scenario's unit material cost.",
    )

    def to_internal_value(self, data: object) -> dict:
        """Hours, DOS bands and the like are master data, not a scenario's prices: a row
        naming them is refused, not silently ignored."""
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {n: ["cannot be changed here: prices and material costs only"] for n in unknown}
                )
        return super().to_internal_value(data)


@extend_schema(tags=["scenarios"], parameters=[CYCLE_PARAM])
class ScenarioListView(CycleMixin, ApiView):
    """The cycle's scenarios (GET); create one from the plan (POST: executives and value
    stream managers, a cycle that is not frozen)."""

    parser_classes = [JSONParser]

    @extend_schema(responses={200: ScenarioSerializer(many=True), **READ_ERRORS})
    def get(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        return Response(ScenarioSerializer(scenarios_of(cycle), many=True).data)

    @extend_schema(
        request=ScenarioInputSerializer,
        responses={201: ScenarioSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        data = ScenarioInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        scenario = scenario_create(
            cycle=cycle,
            name=data.validated_data["name"],
            description=data.validated_data.get("description", ""),
            user=request.user,
        )
        return Response(ScenarioSerializer(scenario).data, status=201)


@extend_schema(tags=["scenarios"], parameters=[CYCLE_PARAM, NAME_PARAM])
class ScenarioDetailView(CycleMixin, ApiView):
    """One scenario (GET); delete it with its cells (DELETE: executives or its creator)."""

    @extend_schema(responses={200: ScenarioSerializer, **NAMED_READ_ERRORS})
    def get(self, request: Request, month: str, name: str) -> Response:
        return Response(ScenarioSerializer(scenario_get(cycle=self.get_cycle(), name=name)).data)

    @extend_schema(responses={204: None, **WRITE_ERRORS})
    def delete(self, request: Request, month: str, name: str) -> Response:
        scenario_delete(scenario=scenario_get(cycle=self.get_cycle(), name=name), user=request.user)
        return Response(status=204)


@extend_schema(
    tags=["scenarios"],
    parameters=[CYCLE_PARAM, NAME_PARAM],
    request=None,
    responses={200: AdoptResultSerializer, **WRITE_ERRORS},
)
class ScenarioAdoptView(CycleMixin, ApiView):
    """Adopt: the plan's inputs become the scenario's (executives: everything and the
    prices; value stream managers: their streams' cells). Adopting again changes nothing."""

    parser_classes = [JSONParser]

    def post(self, request: Request, month: str, name: str) -> Response:
        scenario = scenario_get(cycle=self.get_cycle(), name=name)
        result = scenario_adopt(scenario=scenario, user=request.user)
        return Response({"cells": result.cells, "prices": result.prices})


@extend_schema(
    tags=["scenarios"],
    parameters=[CYCLE_PARAM, NAME_PARAM],
    request=PriceChangeSerializer(many=True),
    responses={200: AdoptResultSerializer, **WRITE_ERRORS},
)
class ScenarioPricesView(CycleMixin, ApiView):
    """Change prices and material costs in the scenario's master copy only (finance)."""

    parser_classes = [JSONParser]

    def post(self, request: Request, month: str, name: str) -> Response:
        cycle = self.get_cycle()
        scenario = scenario_get(cycle=cycle, name=name)
        rows = PriceChangeSerializer(data=request.data, many=True)
        rows.is_valid(raise_exception=True)
        changed = cycle_master_update(
            cycle=cycle.in_scenario(scenario),
            user=request.user,
            changes=[{k: str(v) for k, v in r.items()} for r in rows.validated_data],
        )
        return Response({"cells": 0, "prices": changed})


@extend_schema(
    tags=["scenarios"],
    parameters=[
        CYCLE_PARAM,
        OpenApiParameter(
            "names",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            description="Up to 3 scenario names, comma-separated.",
        ),
    ],
    responses={200: OpenApiTypes.OBJECT, **NAMED_READ_ERRORS},
)
class ScenarioCompareView(CycleMixin, ApiView):
    """The plan and chosen scenarios side by side: horizon totals with deltas against
    the plan, and the exceptions each scenario removes or adds (streams you may see)."""

    def get(self, request: Request, month: str) -> Response:
        names = [n.strip() for n in request.query_params.get("names", "").split(",")]
        comparison = scenario_compare(
            cycle=self.get_cycle(), names=names, value_streams=stream_scope(user=request.user)
        )
        box = comparison.box.astype(object).where(comparison.box.notna(), None)
        return Response(
            {
                "scenarios": comparison.names[1:],
                "box_score": box.to_dict(orient="records"),
                "exceptions": comparison.exceptions,
            }
        )
