"""Query filters of the plan-value list: stream, family, measure and a month range."""

from __future__ import annotations

import datetime as dt
import re

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field

from planning.calendar import parse_month
from planning.models import Measure, PlanValue, ScenarioCell

# The months the server accepts (as planning.api.serializers.MONTH_PATTERN).
MONTH_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])$"


class MonthFormField(forms.CharField):
    """``YYYY-MM`` → the month's first day; anything else is a clear field error."""

    def to_python(self, value: str | None) -> dt.date | None:
        if value == "":
            raise forms.ValidationError("Enter a month as YYYY-MM, e.g. 2027-01 (got '').")
        text = super().to_python(value)
        if not text:
            return None
        exact = isinstance(value, str) and re.fullmatch(MONTH_PATTERN, value)
        month = parse_month(text) if exact else None
        if month is None:
            raise forms.ValidationError(f"{text!r} is not a month; use YYYY-MM, e.g. 2027-01.")
        return month


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2027-01"})
class MonthFilter(django_filters.Filter):
    field_class = MonthFormField


class EngineFilterForm(forms.Form):
    """The engine endpoints' filters: a stream code and a month range."""

    value_stream = forms.CharField(required=False, max_length=40)
    month_from = MonthFormField(required=False)
    month_to = MonthFormField(required=False)


# RFC 3339 date-time (what the schema's ``format: date-time`` means), offset required.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class AwareDateTimeFormField(forms.CharField):
    """ISO-8601 with an offset (``2027-01-05T08:00:00+01:00`` or ``…Z``): a time
    without one would mean different moments to client and server."""

    def to_python(self, value: str | None) -> dt.datetime | None:
        if value == "":
            raise forms.ValidationError("Enter a date and time with an offset (got '').")
        text = super().to_python(value)
        if not text:
            return None
        try:
            moment = parse_datetime(text) if RFC3339.fullmatch(value or "") else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise forms.ValidationError(
                f"{text[:40]!r} is not an ISO-8601 date and time with an offset, "
                "e.g. 2027-01-05T08:00:00Z or 2027-01-05T09:00:00+01:00."
            )
        return moment


@extend_schema_field({"type": "string", "format": "date-time"})
class AwareDateTimeFilter(django_filters.Filter):
    field_class = AwareDateTimeFormField


# ``ordering`` values and the columns they sort by; ``-name`` sorts descending. The
# primary key breaks ties, so pages never overlap or skip rows.
ORDERING_FIELDS = (
    ("updated_at", "updated_at"),
    ("version", "version"),
    ("month", "month"),
    ("measure", "measure"),
    ("value_stream__code", "value_stream"),
    ("product_family__code", "product_family"),
)


class StableOrderingFilter(django_filters.OrderingFilter):
    def filter(self, qs, value):
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, "pk") if value else qs


class PlanValueFilter(django_filters.FilterSet):
    value_stream = django_filters.CharFilter(
        field_name="value_stream__code",
        help_text="Value stream code; rows of other streams are left out.",
    )
    product_family = django_filters.CharFilter(
        field_name="product_family__code", help_text="Product family code."
    )
    measure = django_filters.ChoiceFilter(
        choices=Measure.choices, help_text="One input measure, e.g. demand."
    )
    month_from = MonthFilter(
        field_name="month", lookup_expr="gte", help_text="First month (YYYY-MM), inclusive."
    )
    month_to = MonthFilter(
        field_name="month", lookup_expr="lte", help_text="Last month (YYYY-MM), inclusive."
    )

    updated_since = AwareDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Rows changed at or after this moment (ISO-8601 with offset). Cleared "
        "cells are included then (value null), so a sync client hears of them.",
    )
    ordering = StableOrderingFilter(
        fields=ORDERING_FIELDS,
        help_text="Sort by updated_at, version, month, measure, value_stream or "
        "product_family; '-' first for descending. Default: the file contract's order.",
    )

    class Meta:
        model = PlanValue
        fields = [
            "value_stream",
            "product_family",
            "measure",
            "month_from",
            "month_to",
            "updated_since",
            "ordering",
        ]


class ScenarioCellFilter(PlanValueFilter):
    """The same filters on a scenario's cells (``?scenario=NAME``)."""

    class Meta(PlanValueFilter.Meta):
        model = ScenarioCell
