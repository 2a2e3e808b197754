"""Which value streams and families a user may see and edit, as querysets.

The roles behind these answers are in :mod:`valuestreams.roles`.
"""

from __future__ import annotations

from django.db.models import Exists, Q, QuerySet

from valuestreams.models import Membership, ProductFamily, ValueStream
from valuestreams.roles import AnyUser, user_reads_all_streams


def value_streams_visible(*, user: AnyUser) -> QuerySet[ValueStream]:
    """Streams the user may read: all for executives, finance, sales and admins, and
    for value stream managers (step 3 reconciles across the streams; they read the
    others, edit their own)."""
    qs = ValueStream.objects.filter(active=True).order_by("code")
    if not user.is_authenticated:
        return qs.none()
    if user_reads_all_streams(user):
        return qs
    # One query: the user's streams, or all of them for a manager of any active stream.
    manager = Membership.objects.filter(
        user=user, role=Membership.Role.MANAGER, value_stream__active=True
    )
    mine = Membership.objects.filter(user=user).values("value_stream_id")
    return qs.filter(Exists(manager) | Q(pk__in=mine))


def value_streams_editable(*, user: AnyUser) -> QuerySet[ValueStream]:
    """Streams where the user plans (planner or manager members, and admins). What each
    role may change there, measure by measure, is ``planning.selectors.plans.plan_rights``."""
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


def stream_measure_grants(
    *, user: AnyUser, sales: bool, planner_measures: frozenset[str], sales_measures: frozenset[str]
) -> tuple[dict[int, frozenset[str]], frozenset[str]]:
    """What a user's memberships let them write, per active stream id, plus what sales
    without any membership write on every stream (SOFP.md's rights table).

    One rule for plan inputs and actuals, which differ only in their measure sets:
    planners and managers of a stream get ``planner_measures`` there; sales (``sales``)
    get ``sales_measures`` on the streams they are assigned to (any membership), or on
    every stream when they have none.
    """
    per_stream: dict[int, frozenset[str]] = {}
    memberships = Membership.objects.filter(user=user, value_stream__active=True).values_list(
        "value_stream_id", "role"
    )
    for stream_id, role in memberships:
        measures = per_stream.get(stream_id, frozenset())
        if role in (Membership.Role.PLANNER, Membership.Role.MANAGER):
            measures |= planner_measures
        if sales:
            measures |= sales_measures
        per_stream[stream_id] = measures
    every = sales_measures if sales and not per_stream else frozenset()
    return per_stream, every
