"""Input and output serializers of the planning API.

Input serializers check types and formats only (a month is ``YYYY-MM``, a value is a
number); codes, scopes, the horizon, signs and permissions are the service's job.
Output serializers of engine frames render a whole DataFrame at once
(:meth:`FrameSerializer.frame_data`): the declared fields are the columns, so the
schema and the response cannot drift apart; NaN becomes ``null``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from planning import engine
from planning.api.renderers import format_plan_value
from planning.calendar import parse_month
from planning.engine import SEVERITY
from planning.measures import INPUT_MEASURES
from planning.models import CycleStep, Decision, PlanningCycle, PlanValue
from sofp.api.serializers import ErrorSerializer, StrictCharField

MONTH_HELP = "Month as YYYY-MM."
CODE_MAX = 40
VALUE_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,6})?$"
# Exactly the months the server accepts (parse_month: years 1900-2999, months 01-12).
MONTH_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])$"
DECIMAL_OUT_PATTERN = r"^-?[0-9]+\.[0-9]{6}$"


def utc_text(value: dt.datetime | None) -> str | None:
    """A timestamp as the API writes every one: ISO-8601 in UTC with ``Z``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class UtcDateTimeField(serializers.DateTimeField):
    """Timestamps go out in UTC with ``Z``, whatever the company's time zone."""

    def to_representation(self, value: dt.datetime | None) -> str | None:
        return utc_text(value) if value else None


class UtcModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UtcDateTimeField,
    }


# --------------------------------------------------------------------------- fields


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2027-01"})
class MonthField(serializers.Field):
    """``"2027-01"`` ⇄ ``date(2027, 1, 1)``."""

    default_error_messages = {"invalid": "Enter a month as YYYY-MM, e.g. 2027-01 (got {value!r})."}

    def to_internal_value(self, data: Any) -> dt.date:
        exact = isinstance(data, str) and re.fullmatch(MONTH_PATTERN, data)
        month = parse_month(data) if exact else None
        if month is None:
            self.fail("invalid", value=str(data)[:40])
        return month

    def to_representation(self, value: dt.date) -> str:
        return value.strftime("%Y-%m")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": VALUE_PATTERN, "example": "120.5"},
            {"type": "number", "minimum": 0, "maximum": 9999999999999},
        ],
        "nullable": True,
    }
)
class PlanValueInputField(serializers.Field):
    """A plan number sent as a decimal string (exact) or a JSON number; null clears."""

    default_error_messages = {
        "invalid": 'A number is required, as a decimal string like "120.5" or a JSON '
        "number (got {value!r}).",
        "not_finite": "The value must be a finite number.",
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid", value=str(data)[:40])
        if isinstance(data, str) and len(data) > 50:
            self.fail("invalid", value=data[:40] + "…")
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("not_finite")
        try:
            value = Decimal(data.strip() if isinstance(data, str) else str(data))
        except InvalidOperation:
            self.fail("invalid", value=str(data)[:40])
        if not value.is_finite():
            self.fail("not_finite")
        return value

    def to_representation(self, value: Decimal) -> str:
        return format_plan_value(value)


@extend_schema_field(
    {
        "type": "string",
        "pattern": DECIMAL_OUT_PATTERN,
        "nullable": True,
        "example": "120.500000",
    }
)
class PlanValueOutputField(serializers.Field):
    """Plan numbers go out as exact decimal strings with 6 decimals (null = undefined)."""

    def to_representation(self, value: Any) -> str | None:
        return format_plan_value(value) or None


@extend_schema_field(
    {"type": "string", "pattern": DECIMAL_OUT_PATTERN, "nullable": True, "example": "0.857824"}
)
class EngineNumberField(serializers.Field):
    """The engine's numbers go out like stored ones: decimal strings with the contract's
    6 decimals (no float noise such as 67.79999999999998); null where undefined."""

    def to_representation(self, value: Any) -> str | None:
        return format_plan_value(value) or None


def _code(help_text: str, **kw: Any) -> serializers.CharField:
    return StrictCharField(
        max_length=CODE_MAX, allow_blank=True, default="", help_text=help_text, **kw
    )


# --------------------------------------------------------------------------- errors


class ConflictItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="Row of the request (0-based).")
    label = serializers.CharField(help_text="Row label, e.g. 'row 3'.")
    value_stream = serializers.CharField(help_text="Value stream code ('' for company rows).")
    product_family = serializers.CharField(help_text="Product family code ('' if none).")
    month = serializers.CharField(help_text=MONTH_HELP)
    measure = serializers.CharField(help_text="Measure name.")
    your_version = serializers.IntegerField(
        allow_null=True, help_text="The version you sent (the one you read)."
    )
    current_value = serializers.CharField(
        allow_null=True, help_text="The value stored now (decimal string), null if empty."
    )
    current_version = serializers.IntegerField(help_text="The version stored now (0 = empty).")
    changed_by = serializers.CharField(allow_null=True, help_text="Who changed it last.")
    changed_at = UtcDateTimeField(allow_null=True, help_text="When it was changed (UTC).")


class ConflictErrorSerializer(ErrorSerializer):
    conflicts = ConflictItemSerializer(
        many=True, required=False, help_text="Stale rows with their current values."
    )
    frozen = serializers.BooleanField(
        required=False, help_text="True when the cycle is approved and frozen."
    )


# --------------------------------------------------------------------------- plan values


class PlanValueSerializer(serializers.Serializer):
    """One stored input cell, in the long format of the file contract."""

    value_stream = serializers.CharField(help_text="Value stream code; '' for company rows.")
    product_family = serializers.CharField(
        help_text="Product family code; '' for value-stream and company measures."
    )
    month = MonthField(help_text=MONTH_HELP)
    measure = serializers.ChoiceField(choices=INPUT_MEASURES, help_text="Input measure.")
    value = PlanValueOutputField(help_text="Exact decimal string with 6 decimals.")
    version = serializers.IntegerField(
        help_text="Grows by one on each change; send it back to detect concurrent edits."
    )
    comment = serializers.CharField(help_text="Assumptions noted on the cell.")
    updated_at = UtcDateTimeField(help_text="When the value last changed (UTC, Z).")
    updated_by = serializers.CharField(allow_null=True, help_text="Who changed it last.")

    def to_representation(self, pv: PlanValue) -> dict[str, Any]:
        # Hot path (pages of up to 5,000 rows): build the dict directly.
        return {
            "value_stream": pv.value_stream.code if pv.value_stream_id else "",
            "product_family": pv.product_family.code if pv.product_family_id else "",
            "month": pv.month.strftime("%Y-%m"),
            "measure": pv.measure,
            "value": None if pv.value is None else format_plan_value(pv.value),
            "version": pv.version,
            "comment": pv.comment,
            "updated_at": utc_text(pv.updated_at),
            "updated_by": pv.updated_by.username if pv.updated_by_id else None,
        }


def version_input(help_text: str) -> serializers.IntegerField:
    """The optional version a client read of what it changes (a stale one gives 409)."""
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2_147_483_647, help_text=help_text
    )


# The codes that name one plan cell, the base of every input that points at one (a bulk
# row, a comment). ``field_help`` rewords a field's help for one endpoint while the
# fields, their rules and their order stay the same. (No docstring: the schema would
# show it as the description of every subclass without one.)
class CellInputSerializer(serializers.Serializer):
    field_help: dict[str, str] = {}

    value_stream = _code("Value stream code; empty for company measures (sustaining_cost).")
    product_family = _code("Product family code; empty for value-stream and company measures.")
    month = MonthField(help_text=MONTH_HELP)
    measure = serializers.ChoiceField(choices=INPUT_MEASURES, help_text="Input measure.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name, text in self.field_help.items():
            fields[name].help_text = text
        return fields


class PlanValueRowInputSerializer(CellInputSerializer):
    """One row of a bulk upsert."""

    value = PlanValueInputField(
        allow_null=True, help_text="Decimal string (exact) or number, ≥ 0; null clears the cell."
    )
    version = version_input(
        "Version you read (0 = the cell was empty); a stale one gives 409. Optional."
    )


class ActualRowInputSerializer(serializers.Serializer):
    """One row of actual sales (units) for a family and month."""

    product_family = StrictCharField(max_length=CODE_MAX, help_text="Product family code.")
    value_stream = _code("Optional: the family's value stream code (derived when empty).")
    month = MonthField(
        help_text="Month (YYYY-MM): the 12 months before the cycle or inside its horizon."
    )
    value = PlanValueInputField(allow_null=True, help_text="Units sold (≥ 0); null clears it.")
    version = version_input("Version you read (0 = empty); a stale one gives 409. Optional.")


class UpsertRowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Row of the request (0-based).")
    value_stream = serializers.CharField(help_text="Value stream code.")
    product_family = serializers.CharField(help_text="Product family code.")
    month = serializers.CharField(help_text=MONTH_HELP)
    measure = serializers.CharField(help_text="Measure name.")
    value = PlanValueOutputField(help_text="Stored value now; null if the cell is empty.")
    version = serializers.IntegerField(
        help_text="Version now (0 = empty): send it with the next change."
    )

    def to_representation(self, row: dict[str, Any]) -> dict[str, Any]:
        # Up to 20,000 rows per answer: skip DRF's per-field machinery.
        return {**row, "value": format_plan_value(row["value"]) or None}


class UpsertResultSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="Cells created.")
    changed = serializers.IntegerField(help_text="Cells whose value changed.")
    unchanged = serializers.IntegerField(help_text="Rows that matched what is stored.")
    deleted = serializers.IntegerField(help_text="Cells cleared (value null).")
    dry_run = serializers.BooleanField(help_text="True when nothing was written (?dry_run=1).")
    rows = UpsertRowResultSerializer(many=True, help_text="Each row with its new version.")


# --------------------------------------------------------------------------- cycles


class CycleStepSerializer(UtcModelSerializer):
    participants = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True, help_text="Usernames invited."
    )

    class Meta:
        model = CycleStep
        fields = [
            "number",
            "name",
            "owner_role",
            "meeting_start",
            "meeting_end",
            "input_deadline",
            "agenda",
            "status",
            "minutes",
            "participants",
        ]
        extra_kwargs = {
            "number": {"help_text": "Step 1–5."},
            "name": {"help_text": "Step name."},
            "owner_role": {"help_text": "Role that owns the step."},
            "meeting_start": {"help_text": "Meeting start (UTC)."},
            "meeting_end": {"help_text": "Meeting end (UTC)."},
            "input_deadline": {"help_text": "Deadline for inputs (UTC)."},
            "agenda": {"help_text": "Agenda text."},
            "status": {"help_text": "Step status."},
            "minutes": {"help_text": "Minutes of the meeting."},
        }


class DecisionSerializer(UtcModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Owner's username."
    )
    step = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True, help_text="Step number, if any."
    )

    class Meta:
        model = Decision
        fields = ["id", "text", "owner", "due_date", "status", "step", "created_at"]
        extra_kwargs = {
            "id": {"help_text": "Decision id."},
            "text": {"help_text": "What was decided."},
            "due_date": {"help_text": "Due date."},
            "status": {"help_text": "Open, done or cancelled."},
            "created_at": {"help_text": "When it was recorded."},
        }


class CycleSerializer(UtcModelSerializer):
    month = serializers.CharField(source="label", help_text="The cycle's month, YYYY-MM.")
    is_frozen = serializers.BooleanField(help_text="Approved cycles are read-only.")
    approved_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Approver."
    )

    class Meta:
        model = PlanningCycle
        fields = [
            "month",
            "horizon",
            "status",
            "is_frozen",
            "approved_at",
            "approved_by",
            "approval_override_reason",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "horizon": {"help_text": "Months in the rolling horizon (3–36)."},
            "status": {"help_text": "Draft, in progress or approved (frozen)."},
            "approved_at": {"help_text": "When the plan was approved."},
            "approval_override_reason": {"help_text": "Why it was approved with open steps."},
            "created_at": {"help_text": "When the cycle was created."},
            "updated_at": {"help_text": "Last change of the cycle."},
        }


class CycleDetailSerializer(CycleSerializer):
    steps = CycleStepSerializer(many=True, read_only=True, help_text="The five steps.")
    decisions = DecisionSerializer(many=True, read_only=True, help_text="Decisions taken.")

    class Meta(CycleSerializer.Meta):
        fields = [*CycleSerializer.Meta.fields, "steps", "decisions"]


class ApproveInputSerializer(serializers.Serializer):
    override_reason = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Needed when steps 1–4 are not all done: why approve anyway.",
    )


# --------------------------------------------------------------------------- engine frames


# What each engine column means, once; a serializer may say more about its own rows.
FRAME_HELP: dict[str, str] = {
    "value_stream": "Value stream code.",
    "product_family": "Product family code.",
    "month": MONTH_HELP,
    "demand": "Demand (units).",
    "production": "Production (units).",
    "actual_sales": "Actual sales (units); null when not known.",
    "statistical_baseline": "Statistical baseline (units, the model's forecast); null when none.",
    "opening_inventory": "Opening inventory at the start of the horizon (units).",
    "ending_inventory": "Ending inventory (units).",
    "days_of_supply": "Days of supply; null when next month's demand is 0.",
    "dos_min": "Target days of supply, minimum.",
    "dos_max": "Target days of supply, maximum.",
    "available_hours": "Available hours.",
    "non_productive_hours": "Non-productive hours.",
    "required_hours": "Required hours.",
    "development_hours": "NPD launches' development hours (included in required hours).",
    "utilization": "Required ÷ available hours; null when none are available.",
    "productive_share": "Productive share of available hours.",
    "non_productive_share": "Non-productive share of available hours.",
    "available_share": "Free share of available hours (negative = overloaded).",
    "conversion_cost": "Conversion cost.",
    "revenue": "Revenue.",
    "material_cost": "Material cost.",
    "value_stream_profit": "Value stream profit.",
    "return_on_sales": "Profit ÷ revenue; null without revenue.",
    "inventory_value": "Inventory at material cost.",
    "sustaining_cost": "Sustaining cost (outside every value stream).",
    "company_profit": "Company profit (after sustaining cost).",
    "opening_inventory_value": "Opening inventory value (start of the horizon).",
    "cash_flow": "Cash flow.",
    "headcount": "People in the stream, when known.",
    "revenue_per_person": "Revenue per person, when headcount is known.",
    "accuracy_month": "Month of the latest measured forecast accuracy.",
    "wape": "Weighted absolute percentage error.",
    "bias": "Bias: Σ(forecast − actual) ÷ Σ actual.",
    "fva_month": "Month of the latest measured forecast value added.",
    "naive_wape": "WAPE of the seasonal naive forecast (actual of m−12, else of m−1).",
    "baseline_wape": "WAPE of the statistical baseline of the frozen plan of m−1.",
    "demand_wape": "WAPE of the final demand of the frozen plan of m−1.",
    "fva_statistics": "FVA of the statistics: naive WAPE − baseline WAPE (positive = better).",
    "fva_consensus": "FVA of the consensus: baseline WAPE − final WAPE (positive = better).",
    "months": "Closed months counted.",
    "forecast": "Summed forecast.",
    "actual": "Summed actual sales.",
    "abs_error": "Summed absolute error.",
    "abs_pct_error": "Absolute percentage error; null when actual is 0.",
    "kind": "Kind of exception.",
    "severity": "3 = cannot be met, 2 = at risk, 1 = off target.",
    "value": "The number that triggered it.",
    "limit": "The limit it crossed.",
    "message": "Explanation with the numbers.",
}
_TEXT_COLUMNS = frozenset({"value_stream", "product_family", "month", "message"})


class FrameSerializer(serializers.Serializer):
    """Renders an engine DataFrame: one object per row, the engine's ``columns`` as the
    fields, so the schema and the response cannot drift from the engine's contract.

    Text columns are strings, ``severity`` an integer, ``kind`` a choice and every other
    column a number (NaN becomes ``null``); ``help`` overrides :data:`FRAME_HELP`.
    """

    columns: tuple[str, ...] = ()
    help: dict[str, str] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        return {c: self._field(c, self.help.get(c) or FRAME_HELP[c]) for c in self.columns}

    @staticmethod
    def _field(column: str, help_text: str) -> serializers.Field:
        if column == "kind":
            return serializers.ChoiceField(choices=sorted(SEVERITY), help_text=help_text)
        if column == "severity":
            return serializers.IntegerField(help_text=help_text)
        if column in ("accuracy_month", "fva_month"):
            return serializers.CharField(allow_null=True, help_text=help_text)
        if column in _TEXT_COLUMNS:
            return serializers.CharField(help_text=help_text)
        return EngineNumberField(allow_null=True, help_text=help_text)

    @classmethod
    def frame_data(cls, frame: pd.DataFrame) -> list[dict[str, Any]]:
        fields = cls().fields
        out: dict[str, list] = {}
        for name, field in fields.items():
            col = frame[name] if name in frame else pd.Series([None] * len(frame))
            if isinstance(col.dtype, pd.PeriodDtype):
                values = [None if pd.isna(x) else x for x in col.dt.strftime("%Y-%m")]
            elif isinstance(field, EngineNumberField):
                arr = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                values = [format_plan_value(x) or None for x in arr.tolist()]
            elif isinstance(field, serializers.IntegerField):
                values = [None if pd.isna(x) else int(x) for x in col.tolist()]
            else:
                values = [None if pd.isna(x) else str(x) for x in col.tolist()]
            out[name] = values
        names = list(out)
        return [dict(zip(names, row, strict=True)) for row in zip(*out.values(), strict=True)]


class FamilyProjectionSerializer(FrameSerializer):
    columns = engine.FAMILY_COLUMNS


class StreamProjectionSerializer(FrameSerializer):
    columns = engine.STREAM_COLUMNS
    help = {"demand": "Demand of the stream's families (units)."}


class CompanyProjectionSerializer(FrameSerializer):
    columns = engine.COMPANY_COLUMNS
    help = {
        "value_stream_profit": "Sum of value stream profits.",
        "inventory_value": "Inventory value.",
    }


class BoxScoreSerializer(FrameSerializer):
    columns = engine.BOX_SCORE_COLUMNS
    help = {
        "value_stream": "Value stream code; '' for the company.",
        "days_of_supply": "Days of supply of the summed inventory.",
        "wape": "Latest lag-1 weighted absolute percentage error.",
        "bias": "Latest lag-1 forecast bias.",
        "return_on_sales": "Return on sales.",
        "inventory_value": "Inventory value.",
        "sustaining_cost": "Sustaining cost (company rows).",
        "company_profit": "Company profit (company rows).",
        "cash_flow": "Cash flow (company rows).",
    }


class ExceptionSerializer(FrameSerializer):
    columns = engine.EXCEPTION_COLUMNS
    help = {
        "product_family": "Product family code ('' for streams).",
        "distance": (
            "How far outside its band, relative to the limit (null: unbounded, e.g. new "
            "demand); the ranking."
        ),
    }


class ExplainingAssumptionSerializer(serializers.Serializer):
    """An assumption of the register that explains a demand change (issue 18)."""

    id = serializers.IntegerField(help_text="The assumption's id in the register.")
    text = serializers.CharField(help_text="What the plan rests on.")
    owner = serializers.CharField(help_text="Username ('' when nobody owns it).")
    status = serializers.ChoiceField(
        choices=["open", "confirmed"], help_text="Open or confirmed (retired ones explain nothing)."
    )
    first_month = serializers.CharField(help_text="First month covered, YYYY-MM.")
    last_month = serializers.CharField(help_text="Last month covered, YYYY-MM.")


EXPLAINING_FIELDS = tuple(ExplainingAssumptionSerializer().fields)


class ExplainedExceptionSerializer(ExceptionSerializer):
    """An exception row and the open or confirmed assumptions that explain it (a demand
    change an assumption covers; empty for every other row)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["explained_by"] = ExplainingAssumptionSerializer(
            many=True, help_text="Assumptions covering the cell (demand changes only)."
        )
        return fields


_PAST_MONTH = {"month": "Past month measured, YYYY-MM."}


class FamilyAccuracySerializer(FrameSerializer):
    columns = engine.ACCURACY_FAMILY_COLUMNS
    help = {
        **_PAST_MONTH,
        "forecast": "Demand for the month in the frozen plan of the month before.",
        "actual": "Actual sales.",
        "abs_error": "|actual − forecast|.",
    }


class StreamAccuracySerializer(FrameSerializer):
    columns = engine.ACCURACY_STREAM_COLUMNS
    help = _PAST_MONTH


class CompanyAccuracySerializer(FrameSerializer):
    columns = engine.ACCURACY_COMPANY_COLUMNS
    help = _PAST_MONTH


def _page_fields() -> dict[str, serializers.Field]:
    return {
        "count": serializers.IntegerField(help_text="Rows matching the filters, on all pages."),
        "next": serializers.URLField(
            allow_null=True, help_text="URL of the next page, null on the last."
        ),
        "previous": serializers.URLField(
            allow_null=True, help_text="URL of the previous page, null on the first."
        ),
    }


def paginated(serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The page envelope ``{count, next, previous, results}`` around ``serializer``."""
    return type(
        f"Paginated{serializer.__name__.removesuffix('Serializer')}List",
        (serializers.Serializer,),
        {**_page_fields(), "results": serializer(many=True, help_text="The rows of this page.")},
    )


class AccuracySerializer(serializers.Serializer):
    """One page of each level (the same ``page`` and ``page_size``); ``count`` is the
    longest level's."""

    count = serializers.IntegerField(help_text="Rows of the longest level, on all pages.")
    next = serializers.URLField(allow_null=True, help_text="URL of the next page.")
    previous = serializers.URLField(allow_null=True, help_text="URL of the previous page.")
    family = FamilyAccuracySerializer(many=True, help_text="Per family and month.")
    stream = StreamAccuracySerializer(many=True, help_text="Per value stream and month.")
    company = CompanyAccuracySerializer(
        many=True, help_text="Company per month (empty unless you read every stream)."
    )


class FvaMonthSerializer(FrameSerializer):
    columns = engine.FVA_COLUMNS
    help = {
        **_PAST_MONTH,
        "value_stream": "Value stream code; '' for the company.",
        "actual": "Summed actual sales.",
    }


class FvaWindowSerializer(FrameSerializer):
    columns = engine.FVA_WINDOW_COLUMNS
    help = {
        "value_stream": "Value stream code; '' for the company.",
        "actual": "Summed actual sales.",
    }


class FvaSerializer(serializers.Serializer):
    monthly = FvaMonthSerializer(many=True, help_text="Per value stream and closed month (lag 1).")
    window = FvaWindowSerializer(many=True, help_text="The last 12 closed months pooled.")


class BaselineFitSerializer(serializers.Serializer):
    value_stream = serializers.CharField(
        source="product_family.value_stream.code", help_text="Value stream code."
    )
    product_family = serializers.CharField(
        source="product_family.code", help_text="Product family code."
    )
    method = serializers.CharField(help_text="Method chosen; '' when there is no baseline.")
    model = serializers.CharField(help_text="The fitted form, e.g. ETS(A,N,A).")
    holdout_wape = serializers.FloatField(
        allow_null=True, help_text="WAPE of the method on the last months (rolling origin)."
    )
    benchmark_wape = serializers.FloatField(
        allow_null=True, help_text="WAPE of the seasonal naive forecast on the same months."
    )
    history_months = serializers.IntegerField(help_text="Months of sales history.")
    reason = serializers.CharField(help_text="Why there is no baseline ('' when there is).")


class BaselineRunSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="queued, running, done, failed or cancelled.")
    families_total = serializers.IntegerField(help_text="Families in the run.")
    families_done = serializers.IntegerField(help_text="Families written so far.")
    created_at = serializers.DateTimeField(help_text="When it was requested.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="When it ended.")
    error = serializers.CharField(help_text="Why it failed ('' otherwise).")


class BaselineSerializer(serializers.Serializer):
    run = BaselineRunSerializer(allow_null=True, help_text="The latest run, if any.")
    fits = BaselineFitSerializer(many=True, help_text="Per family: method or reason.")


class ExportRowSerializer(serializers.Serializer):
    value_stream = serializers.CharField(help_text="Value stream code ('' for company rows).")
    product_family = serializers.CharField(help_text="Product family code ('' if none).")
    month = serializers.CharField(help_text=MONTH_HELP)
    measure = serializers.CharField(help_text="Input or computed measure.")
    value = PlanValueOutputField(help_text="Decimal string, 6 decimals; null = undefined.")
