"""A synthetic company for dashboard tests and bench/bench_review.py (bulk_create, fast).

``build_company(streams=, families=, month=, horizon=, previous=2)`` makes the value
streams ``S00..``, their families ``S00-F000..``, the cycle of ``month`` (draft) and
``previous`` approved cycles before it, each with demand, production, opening
inventory, capacity, conversion and sustaining costs; with two or more, actual sales
for last month too (so lag-1 forecast accuracy has something to measure).
Family 0 of every stream runs short (negative inventory) in the horizon's third month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from planning.calendar import month_add
from planning.models import Actual, CycleStatus, PlanningCycle, PlanValue, StepStatus
from planning.services.cycle_master import cycle_master_fill
from planning.services.cycles import cycle_create
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.signals import master_changed


def _plan_rows(
    cycle, streams, families_by_stream, *, scale: float, company: bool = True
) -> list[PlanValue]:
    rows: list[PlanValue] = []
    months = [month_add(cycle.month, i) for i in range(cycle.horizon)]
    for s_idx, vs in enumerate(streams):
        for f_idx, fam in enumerate(families_by_stream[vs.pk]):
            base = 100 + 7 * f_idx + 3 * s_idx
            rows.append(
                PlanValue(
                    cycle=cycle,
                    value_stream=vs,
                    product_family=fam,
                    month=cycle.month,
                    measure="opening_inventory",
                    value=Decimal(base // 2),
                )
            )
            for t, m in enumerate(months):
                demand = base * scale * (1 + 0.02 * ((t + f_idx) % 5))
                production = 0 if (f_idx == 0 and t in (1, 2)) else demand
                for measure, value in (("demand", demand), ("production", production)):
                    rows.append(
                        PlanValue(
                            cycle=cycle,
                            value_stream=vs,
                            product_family=fam,
                            month=m,
                            measure=measure,
                            value=Decimal(f"{value:.1f}"),
                        )
                    )
        n_fam = len(families_by_stream[vs.pk])
        for t, m in enumerate(months):
            hours = 85 * n_fam * (1 + 0.01 * s_idx) + 10 * t
            for measure, value in (
                ("available_hours", hours),
                ("non_productive_hours", hours * 0.1),
                ("conversion_cost", 20_000 + 500 * n_fam),
            ):
                rows.append(
                    PlanValue(
                        cycle=cycle,
                        value_stream=vs,
                        month=m,
                        measure=measure,
                        value=Decimal(f"{value:.2f}"),
                    )
                )
    if company and not cycle.values.filter(measure="sustaining_cost").exists():
        for m in months:
            rows.append(
                PlanValue(cycle=cycle, month=m, measure="sustaining_cost", value=Decimal(90000))
            )
    return rows


def build_company(
    *,
    streams: int,
    families: int,
    month: dt.date = dt.date(2027, 1, 1),
    horizon: int = 18,
    previous: int = 2,
    prefix: str = "S",
) -> PlanningCycle:
    """Create the streams, families and cycle(s); return the current (unapproved) cycle."""
    vs_objs = ValueStream.objects.bulk_create(
        [
            ValueStream(code=f"{prefix}{i:02d}", name=f"Stream {i:02d}", headcount=10 + i)
            for i in range(streams)
        ]
    )
    vs_objs = list(ValueStream.objects.filter(code__in=[v.code for v in vs_objs]).order_by("code"))
    ProductFamily.objects.bulk_create(
        [
            ProductFamily(
                code=f"{vs.code}-F{j:03d}",
                name=f"Family {j:03d} of {vs.code}",
                value_stream=vs,
                unit_price=Decimal("100") + j,
                unit_material_cost=Decimal("40"),
                hours_per_unit=Decimal("0.5"),
                dos_min=Decimal("10"),
                dos_max=Decimal("30"),
            )
            for vs in vs_objs
            for j in range(families)
        ]
    )
    by_stream: dict[int, list[ProductFamily]] = {vs.pk: [] for vs in vs_objs}
    for fam in ProductFamily.objects.filter(value_stream__in=vs_objs).order_by("code"):
        by_stream[fam.value_stream_id].append(fam)
    # Bulk writes skip post_save: tell open cycles, as import_master does.
    master_changed.send(
        sender=ProductFamily,
        family_ids=[f.pk for fams in by_stream.values() for f in fams],
        stream_ids=[vs.pk for vs in vs_objs],
    )

    current = PlanningCycle.objects.filter(month=month).first() or cycle_create(
        month=month, horizon=horizon
    )
    rows = _plan_rows(current, vs_objs, by_stream, scale=1.0)
    for back in range(1, previous + 1):
        m = month_add(month, -back)
        prev = PlanningCycle.objects.filter(month=m).first() or cycle_create(
            month=m, horizon=horizon
        )
        cycle_master_fill(cycle=prev)  # as approval does
        prev.status = CycleStatus.APPROVED
        prev.approved_at = timezone.now()
        prev.save(update_fields=["status", "approved_at", "updated_at"])
        prev.steps.update(status=StepStatus.DONE)
        rows += _plan_rows(prev, vs_objs, by_stream, scale=1.0 - 0.1 * back)
    facts: list[Actual] = []
    if previous >= 2:
        # Actual sales of last month (forecast by the cycle before it): 5% above it,
        # kept in the plan and, as facts are, once in the actuals store.
        last = month_add(month, -1)
        for vs in vs_objs:
            for f_idx, fam in enumerate(by_stream[vs.pk]):
                value = Decimal(f"{(100 + 7 * f_idx) * 0.84:.1f}")
                where = {"value_stream": vs, "product_family": fam, "month": last}
                rows.append(PlanValue(cycle=current, measure="actual_sales", value=value, **where))
                facts.append(Actual(measure="actual_sales", value=value, **where))
    PlanValue.objects.bulk_create(rows, batch_size=5000)
    Actual.objects.bulk_create(facts, batch_size=5000)
    return current
