"""Master data API: everyone reads the streams they may see; admins write.

No DELETE: plan values reference streams and families (set ``active`` false instead).
Writes run ``full_clean()`` so database constraints come back as field errors.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets

from sofp.api.pagination import ApiPagination
from sofp.api.parsers import JSONParser
from sofp.api.views import (
    E400,
    E401,
    E404,
    E429,
    ApiView,
    error_response,
    etag_response,
    negotiate_or_400,
)
from valuestreams.api import serializers as s
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import user_is_admin
from valuestreams.selectors import families_of_streams, value_streams_visible

CODE_REGEX = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}"
E403_WRITE = error_response("Only administrators change master data.")


class IsAdminOrReadOnly(permissions.BasePermission):
    message = "Only administrators change master data."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return user_is_admin(request.user)


class MasterDataViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Shared behaviour: lookup by code, admin-only writes, validated atomic saves."""

    authentication_classes = ApiView.authentication_classes
    permission_classes = [permissions.IsAuthenticated, IsAdminOrReadOnly]
    pagination_class = ApiPagination
    filter_backends: list = []
    lookup_field = "code"
    lookup_value_regex = CODE_REGEX
    # JSON bodies only: form fields cannot say "no number" or "false" unambiguously.
    parser_classes = [JSONParser]

    def perform_content_negotiation(self, request, force: bool = False):
        return negotiate_or_400(super().perform_content_negotiation, request, force)

    def dispatch(self, request, *args, **kwargs):
        return etag_response(request, super().dispatch(request, *args, **kwargs))

    def perform_create(self, serializer) -> None:
        self._save(serializer)

    def perform_update(self, serializer) -> None:
        self._save(serializer)

    @transaction.atomic
    def _save(self, serializer) -> None:
        data = dict(serializer.validated_data)
        many = {k: data.pop(k) for k in list(data) if k == "serves"}
        instance = serializer.instance or serializer.Meta.model()
        for key, value in data.items():
            setattr(instance, key, value)
        instance.full_clean()
        instance.save()
        for key, value in many.items():
            getattr(instance, key).set(value)
        serializer.instance = instance


WRITE_RESPONSES = {400: E400, 401: E401, 403: E403_WRITE, 404: E404, 429: E429}
READ_RESPONSES = {401: E401, 404: E404, 429: E429}


@extend_schema_view(
    list=extend_schema(responses={200: s.ValueStreamSerializer(many=True), **READ_RESPONSES}),
    retrieve=extend_schema(responses={200: s.ValueStreamSerializer, **READ_RESPONSES}),
    create=extend_schema(responses={201: s.ValueStreamSerializer, **WRITE_RESPONSES}),
    update=extend_schema(responses={200: s.ValueStreamSerializer, **WRITE_RESPONSES}),
    partial_update=extend_schema(responses={200: s.ValueStreamSerializer, **WRITE_RESPONSES}),
)
@extend_schema(tags=["master data"])
class ValueStreamViewSet(MasterDataViewSet):
    """Value streams you may see (all, including inactive ones, for administrators)."""

    serializer_class = s.ValueStreamSerializer

    def get_queryset(self) -> QuerySet[ValueStream]:
        user = self.request.user
        qs = (
            ValueStream.objects.order_by("code")
            if user_is_admin(user)
            else (value_streams_visible(user=user))
        )
        return qs.prefetch_related("serves")


@extend_schema_view(
    list=extend_schema(responses={200: s.ProductFamilySerializer(many=True), **READ_RESPONSES}),
    retrieve=extend_schema(responses={200: s.ProductFamilySerializer, **READ_RESPONSES}),
    create=extend_schema(responses={201: s.ProductFamilySerializer, **WRITE_RESPONSES}),
    update=extend_schema(responses={200: s.ProductFamilySerializer, **WRITE_RESPONSES}),
    partial_update=extend_schema(responses={200: s.ProductFamilySerializer, **WRITE_RESPONSES}),
)
@extend_schema(tags=["master data"])
class ProductFamilyViewSet(MasterDataViewSet):
    """Product families of the value streams you may see."""

    serializer_class = s.ProductFamilySerializer

    def get_queryset(self) -> QuerySet[ProductFamily]:
        user = self.request.user
        if user_is_admin(user):
            return ProductFamily.objects.select_related("value_stream").order_by(
                "value_stream__code", "code"
            )
        return families_of_streams(value_streams=value_streams_visible(user=user))
