"""Step 4's prices and costs as the page sends them: text per family and field, read
here and written through the one write path,
:func:`planning.services.cycle_master.cycle_master_update` (rights, frozen, conflicts,
history, scenario copies following the plan).

Prices belong to the cycle (``CycleFamily``, its own master copy): a change here is
this cycle's only — the master and other cycles keep theirs. A frozen cycle refuses,
as every write does.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser

from planning.models import PlanningCycle
from planning.selectors.prices import PRICE_FIELDS, user_can_edit_prices
from planning.services.cycle_master import MAX_PRICE, cycle_master_update
from sofp.errors import PermissionDenied, Problem, ValidationFailed


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
    # The one write path: rights, frozen, conflicts against ``base``, history and the
    # scenario follow rule live in ``cycle_master_update``.
    return cycle_master_update(
        cycle=cycle,
        user=user,
        changes=[{"product_family": code, **fields} for code, fields in parsed.items()],
        base={
            code: {f: str(t or "").strip().replace(",", "") for f, t in fields.items()}
            for code, fields in base.items()
        },
    )
