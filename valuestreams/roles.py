"""Who is what: the company-wide roles and a user's roles in the value streams.

Company roles are Django auth groups of the same name (created by a data migration);
a user's role in one value stream is a :class:`~valuestreams.models.Membership`. Every
rule about who may read or change what starts from the questions answered here;
``valuestreams.selectors`` turns them into querysets of streams, and ``planning`` adds
what the steps and the plan need.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from valuestreams.models import Membership

AnyUser = AbstractBaseUser | AnonymousUser


class CompanyRole(models.TextChoices):
    """Company-wide roles, held as Django auth groups of the same name."""

    EXECUTIVE = "executive", "Executive"
    FINANCE = "finance", "Finance"
    SALES = "sales", "Sales & marketing"
    PRODUCT = "product", "Product"


# Company roles that see every value stream (they sit outside the streams).
COMPANY_WIDE_READERS = (CompanyRole.EXECUTIVE, CompanyRole.FINANCE, CompanyRole.SALES)
# Company roles that enter company-wide values (sustaining costs): finance (step 4).
COMPANY_VALUE_EDITORS = (CompanyRole.FINANCE,)


def user_roles(user: AnyUser) -> set[str]:
    """The user's company-wide roles (group names), cached on the user object."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_sofp_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._sofp_roles = cached
    return cached


def user_is_admin(user: AnyUser) -> bool:
    """Administrators (staff or superusers) manage master data, users and roles."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def user_is_executive(user: AnyUser) -> bool:
    """Executives, and superusers (who may do whatever an executive may)."""
    return user.is_authenticated and (
        user.is_superuser or CompanyRole.EXECUTIVE in user_roles(user)
    )


def user_reads_all_streams(user: AnyUser) -> bool:
    """Company-wide roles (and admins): every stream and the company roll-up."""
    return user.is_authenticated and (
        user.is_superuser or bool(user_roles(user) & set(COMPANY_WIDE_READERS))
    )


def user_can_edit_company_values(*, user: AnyUser) -> bool:
    """Sustaining costs sit outside every stream: finance and admins."""
    return user.is_authenticated and (
        user.is_superuser or bool(user_roles(user) & set(COMPANY_VALUE_EDITORS))
    )


def user_is_stream_manager(user: AnyUser) -> bool:
    """Manager of at least one active value stream (steps 2 and 3 are theirs)."""
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_sofp_is_manager", None)
    if cached is None:
        cached = Membership.objects.filter(
            user=user, role=Membership.Role.MANAGER, value_stream__active=True
        ).exists()
        user._sofp_is_manager = cached
    return cached
