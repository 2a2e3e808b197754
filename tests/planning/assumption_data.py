"""Shared setup of the assumption tests: a frozen plan of 2026-12 and an open 2027-01 cycle
whose demand moved against it (so there are "demand changed" exceptions to explain)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from planning.calendar import month_add
from planning.services.assumptions import assumption_create
from planning.services.cycle_master import cycle_master_fill
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import CycleFactory

JAN = dt.date(2027, 1, 1)
FEB = dt.date(2027, 2, 1)
MAR = dt.date(2027, 3, 1)


def assumption_new(cycle, user, **kw):
    """An assumption on A-1's demand, January to March, through the service; ``kw``
    changes any field."""
    args = {
        "value_stream": "A",
        "product_family": "A-1",
        "measure": "demand",
        "first_month": JAN,
        "last_month": MAR,
        "text": "Acme tender",
        **kw,
    }
    return assumption_create(cycle=cycle, user=user, **args)


def approve(cycle) -> None:
    """Freeze a cycle as approval does (the copy, the time), without its checks."""
    cycle_master_fill(cycle=cycle)
    cycle.status = "approved"
    cycle.approved_at = timezone.now()
    cycle.save()


def moved_plan(family_a, family_b, *, horizon: int = 6):
    """2026-12 approved with demand 100 everywhere; 2027-01 open with A-1's demand 150
    in January (+50%), 104 in February (+4%), 300 in March (+200%), B-1 unchanged."""
    previous = CycleFactory(month=dt.date(2026, 12, 1), horizon=horizon + 1)
    cells = []
    for fam in (family_a, family_b):
        vs = fam.value_stream.code
        for i in range(horizon + 1):
            m = month_add(previous.month, i)
            cells += [
                CellInput(vs, fam.code, m, "demand", Decimal("100")),
                CellInput(vs, fam.code, m, "production", Decimal("100")),
            ]
    plan_values_upsert(cycle=previous, cells=cells, user=None)
    approve(previous)
    cycle = CycleFactory(month=JAN, horizon=horizon)
    moved = {JAN: "150", FEB: "104", MAR: "300"}
    cells = []
    for fam in (family_a, family_b):
        vs = fam.value_stream.code
        for i in range(horizon):
            m = month_add(JAN, i)
            demand = moved.get(m, "100") if fam is family_a else "100"
            cells += [
                CellInput(vs, fam.code, m, "demand", Decimal(demand)),
                CellInput(vs, fam.code, m, "production", Decimal("100")),
            ]
    plan_values_upsert(cycle=cycle, cells=cells, user=None)
    return previous, cycle
