"""Query filters of the plan-value list: stream, family, measure and a month range."""

from __future__ import annotations

import datetime as dt
import re

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from planning.calendar import parse_month
from planning.models import Measure, PlanValue

# The months the server accepts (as planning.api.serializers.MONTH_PATTERN).
MONTH_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])$"


class MonthFormField(forms.CharField):
    """``YYYY-MM`` → the month's first day; anything else is a clear field error."""

    def to_python(self, value: str | None) -> dt.date | None:
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

    class Meta:
        model = PlanValue
        fields = ["value_stream", "product_family", "measure", "month_from", "month_to"]
