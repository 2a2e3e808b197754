"""Who may see and edit which value stream: the one place permissions are decided."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from planning.constants import CompanyRole
from valuestreams.models import Membership, ProductFamily, ValueStream

AnyUser = AbstractBaseUser | AnonymousUser

# Company roles that see every value stream (they sit outside the streams).
COMPANY_WIDE_READERS = (CompanyRole.EXECUTIVE, CompanyRole.FINANCE, CompanyRole.SALES)


def user_roles(user: AnyUser) -> set[str]:
    """The user's company-wide roles (group names), cached on the user object."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_sofp_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._sofp_roles = cached
    return cached


def user_is_executive(user: AnyUser) -> bool:
    return user.is_authenticated and (
        user.is_superuser or CompanyRole.EXECUTIVE in user_roles(user)
    )


def user_reads_all_streams(user: AnyUser) -> bool:
    return user.is_authenticated and (
        user.is_superuser or bool(user_roles(user) & set(COMPANY_WIDE_READERS))
    )


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


def user_can_edit_stream(*, user: AnyUser, value_stream: ValueStream) -> bool:
    return value_streams_editable(user=user).filter(pk=value_stream.pk).exists()


def user_can_edit_company_values(*, user: AnyUser) -> bool:
    """Sustaining costs sit outside every stream: finance, executives and admins."""
    return user.is_authenticated and (
        user.is_superuser or bool(user_roles(user) & {CompanyRole.FINANCE, CompanyRole.EXECUTIVE})
    )


def families_of_streams(*, value_streams: QuerySet[ValueStream]) -> QuerySet[ProductFamily]:
    return (
        ProductFamily.objects.filter(value_stream__in=value_streams, active=True)
        .select_related("value_stream")
        .order_by("value_stream__code", "code")
    )
