"""The cycle's workflow in the API, with the browser's permissions: start a cycle,
comment on a cell, record and update decisions, move a step and write its minutes.

Each view checks types and calls the one service the browser calls (so rights, the
frozen guard, versions and the audit trail are the same); errors go through the one
mapper.
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
from planning.api.views import CYCLE_PARAM, E409, CycleMixin
from planning.models import Decision, DecisionStatus, PlanValueChange, StepStatus
from planning.selectors.plans import cycle_for_api, plan_value_cell
from planning.services.cycles import cycle_start
from planning.services.decisions import decision_create, decision_update, user_resolve
from planning.services.plan_values import MAX_COMMENT_LENGTH, plan_value_comment_set
from planning.services.steps import step_minutes_set, step_status_set
from sofp.api.parsers import JSONParser
from sofp.api.serializers import StrictCharField
from sofp.api.views import E400, E401, E404, E413, E415, E429, ApiView, error_response

E403 = error_response("Not allowed: the browser would say no too (role, stream, step owner).")
WRITE_ERRORS = {
    400: E400,
    401: E401,
    403: E403,
    404: E404,
    409: E409,
    413: E413,
    415: E415,
    429: E429,
}
MAX_TEXT = 10_000


# --------------------------------------------------------------------------- inputs


class CycleStartInputSerializer(serializers.Serializer):
    month = s.MonthField(help_text="The month to start, YYYY-MM.")
    horizon = serializers.IntegerField(
        required=False,
        min_value=3,
        max_value=36,
        help_text="Months in the horizon (3–36); default: the last approved cycle's.",
    )


class CommentInputSerializer(s.CellInputSerializer):
    field_help = {
        "value_stream": "Value stream code; empty for company measures.",
        "product_family": "Product family code; empty for stream and company measures.",
    }

    text = StrictCharField(
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_COMMENT_LENGTH,
        help_text="The comment (assumptions); empty removes it. No control characters.",
    )
    version = s.version_input("The cell's version you read; a stale one gives 409.")


class CommentResultSerializer(serializers.Serializer):
    value_stream = serializers.CharField(help_text="Value stream code ('' for company).")
    product_family = serializers.CharField(help_text="Product family code ('' if none).")
    month = serializers.CharField(help_text=s.MONTH_HELP)
    measure = serializers.CharField(help_text="Input measure.")
    comment = serializers.CharField(help_text="The comment now.")
    version = serializers.IntegerField(help_text="The cell's version after the change.")


class DecisionInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=MAX_TEXT, help_text="What was decided.")
    owner = StrictCharField(max_length=150, help_text="Owner's username.")
    due_date = serializers.DateField(help_text="Due date (YYYY-MM-DD).")
    step = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=5,
        help_text="Step it was taken in (1–5); none: the executives'.",
    )


class DecisionUpdateInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=DecisionStatus.values, required=False, help_text="Open, done or cancelled."
    )
    text = StrictCharField(required=False, max_length=MAX_TEXT, help_text="New text.")
    owner = StrictCharField(required=False, max_length=150, help_text="Username.")
    due_date = serializers.DateField(required=False, help_text="New due date.")


class StepUpdateInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=StepStatus.values, required=False, help_text="The step's new status."
    )
    minutes = StrictCharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, help_text="The minutes."
    )
    minutes_base = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=MAX_TEXT,
        help_text="The minutes you started from: if they changed meanwhile, 409.",
    )


# --------------------------------------------------------------------------- views


def validated(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The request body checked by ``serializer_class`` (400 naming each bad field)."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def found(item: Any, missing: str) -> Any:
    """``item``, or a 404 saying ``missing`` when the lookup found nothing."""
    if item is None:
        raise NotFound(missing)
    return item


@extend_schema(
    tags=["cycles"],
    request=CycleStartInputSerializer,
    responses={201: s.CycleDetailSerializer, **WRITE_ERRORS},
)
class CycleStartView(ApiView):
    """Start a month's cycle (executives and administrators): five scheduled steps and
    the last approved plan rolled forward. 400 when the month already has one."""

    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        d = validated(CycleStartInputSerializer, request)
        cycle, _ = cycle_start(month=d["month"], user=request.user, horizon=d.get("horizon"))
        return Response(s.CycleDetailSerializer(cycle_for_api(cycle.label)).data, status=201)


@extend_schema(
    tags=["plan values"],
    parameters=[CYCLE_PARAM],
    request=CommentInputSerializer,
    responses={200: CommentResultSerializer, **WRITE_ERRORS},
)
class CommentView(CycleMixin, ApiView):
    """Set a cell's comment: the same rights and freeze as its value, versioned and
    recorded in the cell's history (``?scenario=NAME``: a scenario's cell)."""

    parser_classes = [JSONParser]
    scenario_aware = True

    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        d = validated(CommentInputSerializer, request)
        cell = found(
            plan_value_cell(
                cycle=cycle,
                value_stream=d["value_stream"],
                product_family=d["product_family"],
                month=d["month"],
                measure=d["measure"],
            ),
            "That cell holds no value; enter one before commenting on it.",
        )
        cell = plan_value_comment_set(
            plan_value=cell,
            text=d["text"],
            user=request.user,
            version=d.get("version"),
            source=PlanValueChange.Source.API,
        )
        return Response(
            {
                "value_stream": d["value_stream"],
                "product_family": d["product_family"],
                "month": d["month"].strftime("%Y-%m"),
                "measure": d["measure"],
                "comment": cell.comment,
                "version": cell.version,
            }
        )


@extend_schema(
    tags=["cycles"],
    parameters=[CYCLE_PARAM],
    request=DecisionInputSerializer,
    responses={201: s.DecisionSerializer, **WRITE_ERRORS},
)
class DecisionCreateView(CycleMixin, ApiView):
    """Record a decision (the step's owners, or executives for the cycle)."""

    parser_classes = [JSONParser]

    def post(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        d = validated(DecisionInputSerializer, request)
        decision = decision_create(
            cycle=cycle,
            user=request.user,
            text=d["text"],
            owner=user_resolve(d["owner"]),
            due_date=d["due_date"],
            step_number=d.get("step"),
        )
        return Response(s.DecisionSerializer(decision).data, status=201)


DECISION_PARAM = OpenApiParameter(
    "decision_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Decision id."
)


@extend_schema(
    tags=["cycles"],
    parameters=[CYCLE_PARAM, DECISION_PARAM],
    request=DecisionUpdateInputSerializer,
    responses={200: s.DecisionSerializer, **WRITE_ERRORS},
)
class DecisionUpdateView(CycleMixin, ApiView):
    """Update a decision: its owner sets the status, step owners change all of it."""

    parser_classes = [JSONParser]

    def patch(self, request: Request, month: str, decision_id: int) -> Response:
        cycle = self.get_cycle()
        decision = found(
            Decision.objects.filter(cycle=cycle, pk=decision_id).first(),
            f"Cycle {cycle.label} has no decision {decision_id}.",
        )
        fields = validated(DecisionUpdateInputSerializer, request)
        if "owner" in fields:
            fields["owner"] = user_resolve(fields["owner"])
        decision = decision_update(decision=decision, user=request.user, **fields)
        return Response(s.DecisionSerializer(decision).data)


STEP_PARAM = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description="Step number (1–5)."
)


@extend_schema(
    tags=["cycles"],
    parameters=[CYCLE_PARAM, STEP_PARAM],
    request=StepUpdateInputSerializer,
    responses={200: s.CycleStepSerializer, **WRITE_ERRORS},
)
class StepUpdateView(CycleMixin, ApiView):
    """Move a step's status and write its minutes (the step's owners; step 5 is done by
    approval)."""

    parser_classes = [JSONParser]

    def patch(self, request: Request, month: str, number: int) -> Response:
        cycle = self.get_cycle()
        step = found(
            cycle.steps.filter(number=number).first(), f"Cycle {cycle.label} has no step {number}."
        )
        d = validated(StepUpdateInputSerializer, request)
        if "status" in d:
            step = step_status_set(step=step, status=d["status"], user=request.user)
        if "minutes" in d:
            step = step_minutes_set(
                step=step, minutes=d["minutes"], user=request.user, base=d.get("minutes_base")
            )
        step = cycle.steps.prefetch_related("participants").get(pk=step.pk)
        return Response(s.CycleStepSerializer(step).data)
