"""Serializers of the error answers, for the OpenAPI schema: RFC 9457 problem details
as :mod:`sofp.errors` makes them (``detail`` and ``errors`` as before, plus ``type``,
``title``, ``status`` and ``instance``)."""

from __future__ import annotations

from rest_framework import serializers


class ErrorItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True, help_text="Row of the request body (0-based), or null."
    )
    field = serializers.CharField(
        allow_null=True, help_text="Input field the problem is about, or null."
    )
    code = serializers.CharField(help_text="What kind of problem, e.g. unknown_measure.")
    message = serializers.CharField(help_text="What is wrong, in plain words.")
    line = serializers.IntegerField(required=False, help_text="Line of a file, when one.")
    column = serializers.CharField(required=False, help_text="Column of a file, when one.")
    value_stream = serializers.CharField(required=False, help_text="The cell's value stream.")
    product_family = serializers.CharField(required=False, help_text="The cell's product family.")
    month = serializers.CharField(required=False, help_text="The cell's month, YYYY-MM.")
    measure = serializers.CharField(required=False, help_text="The cell's measure.")


class ErrorSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="The kind of problem, as a URI (urn:sofp:problem:…).")
    title = serializers.CharField(help_text="Short summary of the kind of problem.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="Summary of the error.")
    instance = serializers.CharField(required=False, help_text="The address that was asked.")
    errors = ErrorItemSerializer(many=True, help_text="Every problem found (may be empty).")


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: DRF's own also takes "0", 1 or "yes", which the
    schema (``type: boolean``) says are wrong."""

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=str(data)[:20])


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's own turns 12 or 1.5 into "12", which the schema
    (``type: string``) says is wrong."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
