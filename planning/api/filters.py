"""Query filters of the plan-value list: stream, family, measure and a month range."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms

from planning.calendar import parse_month
from planning.models import Measure, PlanValue


class MonthFormField(forms.CharField):
    """``YYYY-MM`` → the month's first day; anything else is a clear field error."""

    def to_python(self, value: str | None) -> dt.date | None:
        text = super().to_python(value)
        if not text:
            return None
        month = parse_month(text)
        if month is None:
            raise forms.ValidationError(f"{text!r} is not a month; use YYYY-MM, e.g. 2027-01.")
        return month


class MonthFilter(django_filters.Filter):
    field_class = MonthFormField


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
