"""Step 4's prices and costs: finance changes the families' unit prices and material
costs for a cycle, each change kept in the cycle's history.

Prices belong to the cycle (``CycleFamily``, its own master copy): a change here is
this cycle's only — the master and other cycles keep theirs. A frozen cycle refuses,
as every write does.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from planning.models import CycleFamily, PlanningCycle, cycle_scenario
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.prices import PRICE_FIELDS, user_can_edit_prices
from planning.services.cycle_master import cycle_master_fill
from planning.services.cycles import audit_record
from sofp.errors import PermissionDenied, Problem, ValidationFailed, VersionConflict
from sofp.model_update import model_update

MAX_PRICE = Decimal("1e12")


def _number(text: str, *, family: str, field: str) -> Decimal | Problem:
    raw = (text or "").strip().replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return Problem("not_a_number", f"{family} {field}: {text!r} is not a number", field=field)
    if not value.is_finite() or value < 0 or value >= MAX_PRICE:
        return Problem(
            "out_of_range", f"{family} {field}: must be a number from 0 to 10¹²", field=field
        )
    return value.quantize(Decimal("0.0001"))


def cycle_prices_set(
    *,
    cycle: PlanningCycle,
    values: Mapping[str, Mapping[str, str]],
    base: Mapping[str, Mapping[str, str]],
    user: AbstractBaseUser,
) -> int:
    """Set ``{family code: {field: text}}``; ``base`` is what the form showed. All or
    nothing: every problem listed (400), someone else's change since the form was
    opened (409), not finance (403), frozen (409). Returns how many numbers changed."""
    if not user_can_edit_prices(user):
        raise PermissionDenied("Prices and material costs are changed by finance.")
    parsed: dict[str, dict[str, Decimal]] = {}
    problems: list[Problem] = []
    for code, fields in values.items():
        for field, text in fields.items():
            if field not in PRICE_FIELDS:
                continue
            value = _number(text, family=code, field=field)
            if isinstance(value, Problem):
                problems.append(value)
            else:
                parsed.setdefault(code, {})[field] = value
    if problems:
        raise ValidationFailed(
            f"{len(problems):,} price(s) refused; nothing saved.", problems=problems
        )
    changed = 0
    scenario = cycle_scenario(cycle)
    with transaction.atomic():
        cycle = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
        cycle_refuse_frozen(cycle, "prices and costs")
        if scenario is None:
            cycle_master_fill(cycle=cycle)  # complete (a family added since it started)
            copies = CycleFamily.objects.filter(cycle=cycle)
        else:  # a scenario's prices: its own copy only, never the plan's
            copies = CycleFamily.all_objects.filter(cycle=cycle, scenario=scenario)
        families = {
            f.product_family.code: f
            for f in copies.select_for_update(of=("self",))
            .select_related("product_family")
            .filter(product_family__code__in=list(parsed))
        }
        conflicts = []
        for code, fields in parsed.items():
            family = families.get(code)
            if family is None:
                raise ValidationFailed.of_field("family", f"unknown product family {code!r}")
            for field in fields:
                seen = (base.get(code) or {}).get(field)
                if seen is not None and Decimal(seen) != getattr(family, field):
                    conflicts.append(
                        {"family": code, "field": field, "current": str(getattr(family, field))}
                    )
        if conflicts:
            raise VersionConflict(
                "Someone changed these prices since you opened the page; nothing was saved: "
                + ", ".join(f"{c['family']} {c['field']} is now {c['current']}" for c in conflicts),
                conflicts=conflicts,
            )
        for code, fields in parsed.items():
            family = families[code]
            old = {f: getattr(family, f) for f in fields}
            _, did = model_update(instance=family, fields=list(fields), data=fields)
            if not did:
                continue
            for field, value in fields.items():
                if old[field] != value:
                    changed += 1
                    audit_record(
                        cycle=cycle,
                        obj=family,
                        action="price",
                        field=field,
                        old=old[field],
                        new=value,
                        user=user,
                        note=code if scenario is None else f"{code} (scenario {scenario.name})",
                    )
    return changed
