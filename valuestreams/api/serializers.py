"""Master data over the API: value streams and product families, addressed by code."""

from __future__ import annotations

from rest_framework import serializers

from valuestreams.models import FAMILY_FIELDS, ProductFamily, ValueStream


class ValueStreamSerializer(serializers.ModelSerializer):
    serves = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        required=False,
        queryset=ValueStream.objects.all(),
        help_text="For a new product development stream: codes of the streams it serves.",
    )

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


class ProductFamilySerializer(serializers.ModelSerializer):
    value_stream = serializers.SlugRelatedField(
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
