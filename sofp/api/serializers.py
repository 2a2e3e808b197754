"""Serializers of the error answers, for the OpenAPI schema (the shape is made by
:mod:`sofp.errors`)."""

from __future__ import annotations

from rest_framework import serializers


class ErrorItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True, help_text="Row of the request body (0-based), or null."
    )
    field = serializers.CharField(
        allow_null=True, help_text="Input field the problem is about, or null."
    )
    message = serializers.CharField(help_text="What is wrong, in plain words.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Summary of the error.")
    errors = ErrorItemSerializer(many=True, help_text="Every problem found (may be empty).")
