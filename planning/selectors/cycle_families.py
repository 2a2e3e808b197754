"""Which families a cycle plans, per value stream: its own master copy, not the live master.

A frozen cycle keeps the families it was approved with: a family deactivated or moved to
another stream after approval still shows in that cycle's grid and dashboards, in the
stream it was planned in (``CycleFamily`` holds both facts).
"""

from __future__ import annotations

from collections.abc import Sequence

from planning.models import CycleFamily, PlanningCycle
from valuestreams.models import ProductFamily, ValueStream


def cycle_stream_families(
    *, cycle: PlanningCycle, value_stream: ValueStream
) -> list[ProductFamily]:
    """The families ``cycle`` plans in ``value_stream``, by code.

    A cycle from before copies existed has none: then the live master's active families.
    """
    copies = CycleFamily.objects.filter(cycle=cycle)
    planned = copies.filter(value_stream=value_stream, active=True).values("product_family_id")
    families = list(ProductFamily.objects.filter(pk__in=planned).order_by("code"))
    if families or copies.exists():
        return families
    return list(
        ProductFamily.objects.filter(value_stream=value_stream, active=True).order_by("code")
    )


def cycle_family_codes(
    *, cycle: PlanningCycle, value_streams: Sequence[ValueStream]
) -> list[tuple[str, str, int]]:
    """(family code, stream code, stream id) of every family ``cycle`` plans in these
    streams, by stream and code: the review's family filter (one query)."""
    copies = CycleFamily.objects.filter(cycle=cycle)
    rows = list(
        copies.filter(active=True, value_stream__in=list(value_streams))
        .order_by("value_stream__code", "product_family__code")
        .values_list("product_family__code", "value_stream__code", "value_stream_id")
    )
    if rows or copies.exists():
        return rows
    return list(
        ProductFamily.objects.filter(active=True, value_stream__in=list(value_streams))
        .order_by("value_stream__code", "code")
        .values_list("code", "value_stream__code", "value_stream_id")
    )
