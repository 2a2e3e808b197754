"""Which value streams and families a user may see and edit, as querysets.

The roles behind these answers are in :mod:`valuestreams.roles`.
"""

from __future__ import annotations

from django.db.models import QuerySet

from valuestreams.models import Membership, ProductFamily, ValueStream
from valuestreams.roles import AnyUser, user_reads_all_streams


def value_streams_visible(*, user: AnyUser) -> QuerySet[ValueStream]:
    """Streams the user may read: all for executives, finance, sales and admins."""
    qs = ValueStream.objects.filter(active=True).order_by("code")
    if not user.is_authenticated:
        return qs.none()
    if user_reads_all_streams(user):
        return qs
    return qs.filter(memberships__user=user).distinct()


def value_streams_editable(*, user: AnyUser) -> QuerySet[ValueStream]:
    """Streams whose plan the user may change: planner or manager members, and admins."""
    qs = ValueStream.objects.filter(active=True).order_by("code")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(
        memberships__user=user,
        memberships__role__in=[Membership.Role.PLANNER, Membership.Role.MANAGER],
    ).distinct()


def user_can_view_stream(*, user: AnyUser, value_stream: ValueStream) -> bool:
    return value_streams_visible(user=user).filter(pk=value_stream.pk).exists()


def families_of_streams(*, value_streams: QuerySet[ValueStream]) -> QuerySet[ProductFamily]:
    return (
        ProductFamily.objects.filter(value_stream__in=value_streams, active=True)
        .select_related("value_stream")
        .order_by("value_stream__code", "code")
    )
