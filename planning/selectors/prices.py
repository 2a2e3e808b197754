"""Reading a cycle's prices and costs (step 4) and their history."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from planning.models import AuditEvent, CycleFamily, PlanningCycle
from valuestreams.roles import AnyUser, CompanyRole, user_roles

PRICE_FIELDS = ("unit_price", "unit_material_cost")
PRICE_LABELS = {"unit_price": "Unit price", "unit_material_cost": "Unit material cost"}


def user_can_edit_prices(user: AnyUser) -> bool:
    """SOFP.md's rights table: finance changes the cycle's prices and material costs
    (administrators too, as they maintain master data)."""
    return user.is_authenticated and (user.is_superuser or CompanyRole.FINANCE in user_roles(user))


@dataclass(frozen=True)
class PriceRow:
    stream: str
    code: str
    name: str
    unit_price: Decimal
    unit_material_cost: Decimal

    @property
    def margin(self) -> Decimal | None:
        return None if not self.unit_price else 1 - self.unit_material_cost / self.unit_price


def cycle_prices(*, cycle: PlanningCycle, value_streams) -> list[PriceRow]:
    """The families of the streams shown, with the prices the cycle plans with: its own
    master copy (``CycleFamily``; Master data belongs to the cycle), families in the
    plan only."""
    from planning.services.cycle_master import cycle_master_fill

    if not cycle.is_frozen and not CycleFamily.objects.filter(cycle=cycle).exists():
        cycle_master_fill(cycle=cycle)  # a cycle from before copies existed
    from planning.models import cycle_scenario

    scenario = cycle_scenario(cycle)
    copies = (
        CycleFamily.objects.filter(cycle=cycle)
        if scenario is None
        else CycleFamily.all_objects.filter(cycle=cycle, scenario=scenario)
    )
    rows = (
        copies.filter(value_stream__in=value_streams, active=True)
        .order_by("value_stream__code", "product_family__code")
        .values_list(
            "value_stream__code", "product_family__code", "product_family__name", *PRICE_FIELDS
        )
    )
    return [PriceRow(*r) for r in rows]


def cycle_price_history(*, cycle: PlanningCycle, limit: int = 200) -> list[AuditEvent]:
    """Every price and cost change made for this cycle, newest first."""
    return list(
        AuditEvent.objects.filter(cycle=cycle, action="price")
        .select_related("user")
        .order_by("-at", "-pk")[:limit]
    )
