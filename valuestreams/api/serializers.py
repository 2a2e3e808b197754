"""Master data over the API: value streams and product families, addressed by code."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from sofp.api.serializers import StrictBooleanField, StrictCharField
from valuestreams.models import FAMILY_FIELDS, ProductFamily, ValueStream


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


class CodeRelatedField(serializers.SlugRelatedField):
    """A related row by its code, sent as a string (the schema's type)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ValueStreamSerializer(StrictModelSerializer):
    serves = CodeRelatedField(
        slug_field="code",
        many=True,
        required=False,
        queryset=ValueStream.objects.all(),
        help_text="For a new product development stream: codes of the streams it serves.",
    )

    def to_internal_value(self, data):
        # DRF iterates whatever it is given (an object's keys too): a list, or nothing.
        if isinstance(data, dict) and "serves" in data and not isinstance(data["serves"], list):
            raise serializers.ValidationError({"serves": ["A list of value stream codes."]})
        return super().to_internal_value(data)

    class Meta:
        model = ValueStream
        fields = ["code", "name", "kind", "serves", "headcount", "active"]
        extra_kwargs = {
            "code": {"help_text": "Unique code, e.g. PUMPS (letters, digits, - _ .)."},
            "name": {"help_text": "Display name."},
            "kind": {"help_text": "Order fulfilment, new product development or other."},
            "headcount": {"help_text": "People in the stream (for revenue per person)."},
            "active": {"help_text": "Inactive streams are hidden from plans."},
        }


class ProductFamilySerializer(StrictModelSerializer):
    value_stream = CodeRelatedField(
        slug_field="code",
        queryset=ValueStream.objects.all(),
        help_text="Code of the value stream the family belongs to.",
    )

    class Meta:
        model = ProductFamily
        fields = list(FAMILY_FIELDS)
        extra_kwargs = {
            "code": {"help_text": "Unique family code."},
            "name": {"help_text": "Display name."},
            "unit_price": {"help_text": "Selling price per unit (decimal string)."},
            "unit_material_cost": {"help_text": "Material cost per unit (decimal string)."},
            "hours_per_unit": {"help_text": "Production hours per unit (decimal string)."},
            "dos_min": {"help_text": "Target days of supply, minimum."},
            "dos_max": {"help_text": "Target days of supply, maximum (≥ minimum)."},
            "active": {"help_text": "Inactive families are left out of plans."},
        }
