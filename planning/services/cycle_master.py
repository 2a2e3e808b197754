"""The cycle's own master copy: taken at start, following the master while the cycle is
open, kept as it was once the cycle is approved (``Master data belongs to the cycle``).

Three writers, one module:

* :func:`cycle_master_fill` — a cycle's copy of every family and stream it has none of
  yet (at start, and at approval so a frozen cycle's copy is complete);
* :func:`cycle_masters_sync` — after the master changed (``import_master``, the admin,
  the master-data API): every cycle that is not frozen takes the new master values;
* :func:`cycle_master_update` — one cycle's prices and costs changed by finance (the
  "Prices and costs" page), with the history kept in :class:`AuditEvent`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction

from planning.models import (
    CycleFamily,
    CycleStatus,
    CycleValueStream,
    PlanningCycle,
    cycle_scenario,
)
from planning.selectors.cycles import cycle_refuse_frozen
from sofp.errors import PermissionDenied, Problem, ValidationFailed
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.roles import user_can_edit_company_values

# The family fields a cycle copies from the master (besides its stream).
FAMILY_COPY_FIELDS = (
    "unit_price",
    "unit_material_cost",
    "hours_per_unit",
    "dos_min",
    "dos_max",
    "active",
)
STREAM_COPY_FIELDS = ("active", "headcount")
# What finance may change in one cycle's copy (prices and costs; the rest is master data).
CYCLE_EDITABLE_FIELDS = ("unit_price", "unit_material_cost")


def _family_copy(cycle_id: int, family: ProductFamily) -> CycleFamily:
    return CycleFamily(
        cycle_id=cycle_id,
        product_family_id=family.pk,
        value_stream_id=family.value_stream_id,
        **{f: getattr(family, f) for f in FAMILY_COPY_FIELDS},
    )


def _stream_copy(cycle_id: int, stream: ValueStream) -> CycleValueStream:
    return CycleValueStream(
        cycle_id=cycle_id,
        value_stream_id=stream.pk,
        **{f: getattr(stream, f) for f in STREAM_COPY_FIELDS},
    )


def cycle_master_fill(*, cycle: PlanningCycle) -> int:
    """Copy the master of every family and stream the cycle has no copy of yet.

    Existing copies stay as they are (the cycle may have its own prices). Returns how
    many family copies were made.
    """
    have_f = set(
        CycleFamily.objects.filter(cycle=cycle).values_list("product_family_id", flat=True)
    )
    have_s = set(
        CycleValueStream.objects.filter(cycle=cycle).values_list("value_stream_id", flat=True)
    )
    families = [_family_copy(cycle.pk, f) for f in ProductFamily.objects.exclude(pk__in=have_f)]
    streams = [_stream_copy(cycle.pk, s) for s in ValueStream.objects.exclude(pk__in=have_s)]
    CycleFamily.objects.bulk_create(families, batch_size=1000, ignore_conflicts=True)
    CycleValueStream.objects.bulk_create(streams, batch_size=1000, ignore_conflicts=True)
    return len(families)


def _open_cycle_ids() -> list[int]:
    """Cycles that follow the master, locked so an approval waits for the sync (or the
    sync sees the cycle frozen and leaves it alone)."""
    return list(
        PlanningCycle.objects.select_for_update()
        .exclude(status=CycleStatus.APPROVED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def cycle_masters_sync(
    *, family_ids: Iterable[int] | None = None, stream_ids: Iterable[int] | None = None
) -> int:
    """Give every cycle that is not frozen the master's current values of these families
    and streams (``None``: none of that kind). Frozen cycles are never touched.

    Returns the number of copies written.
    """
    fam_ids = set(family_ids or ())
    vs_ids = set(stream_ids or ())
    if not fam_ids and not vs_ids:
        return 0
    cycles = _open_cycle_ids()
    if not cycles:
        return 0
    written = 0
    if fam_ids:
        written += _copies_upsert(
            cycles=cycles,
            masters=ProductFamily.objects.filter(pk__in=fam_ids),
            model=CycleFamily,
            master_field="product_family_id",
            copy=_family_copy,
            fields=["value_stream", *FAMILY_COPY_FIELDS],
        )
    if vs_ids:
        written += _copies_upsert(
            cycles=cycles,
            masters=ValueStream.objects.filter(pk__in=vs_ids),
            model=CycleValueStream,
            master_field="value_stream_id",
            copy=_stream_copy,
            fields=list(STREAM_COPY_FIELDS),
        )
    return written


def _copies_upsert(
    *,
    cycles: Sequence[int],
    masters: Iterable[models.Model],
    model: type[models.Model],
    master_field: str,
    copy: Callable[[int, models.Model], models.Model],
    fields: Sequence[str],
) -> int:
    """Write ``copy(cycle, master)`` for every cycle and master row: a new copy where the
    cycle has none of that master yet, else ``fields`` of the one it has (found by
    ``master_field``). Returns how many copies were written."""
    masters = list(masters)
    existing = {
        (c, m): pk
        for pk, c, m in model.objects.filter(
            cycle_id__in=cycles, **{f"{master_field}__in": [m.pk for m in masters]}
        ).values_list("pk", "cycle_id", master_field)
    }
    create, update = [], []
    for cycle_id in cycles:
        for master in masters:
            row = copy(cycle_id, master)
            row.pk = existing.get((cycle_id, master.pk))
            (update if row.pk else create).append(row)
    model.objects.bulk_create(create, batch_size=1000)
    model.objects.bulk_update(update, fields, batch_size=1000)
    return len(create) + len(update)


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


@transaction.atomic
def cycle_master_update(
    *,
    cycle: PlanningCycle,
    user: AbstractBaseUser | None,
    changes: Sequence[Mapping[str, object]],
) -> int:
    """Change one cycle's prices and costs: ``changes`` are
    ``{"product_family": CODE, "unit_price": "12.5", "unit_material_cost": ...}``.

    Finance (and administrators) only, never in a frozen cycle, all or nothing; every
    changed number is recorded as an audit event (who, when, old → new). The master is
    not changed. ``user=None`` is a trusted operator path. Returns the number of changed
    fields. A cycle seen through a scenario changes the scenario's copy only.
    """
    from planning.services.cycles import audit_record

    scenario = cycle_scenario(cycle)
    locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
    cycle_refuse_frozen(locked, "price changes")
    if user is not None and not user_can_edit_company_values(user=user):
        raise PermissionDenied("Only finance changes a cycle's prices and costs.")
    codes = [str(c.get("product_family", "")) for c in changes]
    if scenario is None:
        cycle_master_fill(cycle=locked)
        copies_qs = CycleFamily.objects.filter(cycle=locked)
    else:
        from planning.selectors.scenarios import scenario_refuse_frozen

        scenario.cycle = locked
        scenario_refuse_frozen(scenario)
        copies_qs = CycleFamily.all_objects.filter(cycle=locked, scenario=scenario)
    copies = {
        c.product_family.code: c
        for c in copies_qs.filter(product_family__code__in=codes).select_related("product_family")
    }
    problems: list[Problem] = []
    planned: list[tuple[CycleFamily, str, Decimal, Decimal]] = []
    for i, change in enumerate(changes):
        code = str(change.get("product_family", ""))
        copy = copies.get(code)
        if copy is None:
            problems.append(
                Problem(
                    "unknown_product_family",
                    f"unknown product family {code!r}",
                    index=i,
                    field="product_family",
                )
            )
            continue
        for name, raw in change.items():
            if name == "product_family":
                continue
            if name not in CYCLE_EDITABLE_FIELDS:
                problems.append(
                    Problem("not_editable", f"{name!r} cannot be changed here", index=i, field=name)
                )
                continue
            value = _decimal(raw)
            if value is None or value < 0 or value >= Decimal("1e12"):
                problems.append(
                    Problem(
                        "invalid",
                        f"{name} must be a number of 0 or more (got {raw!r})",
                        index=i,
                        field=name,
                    )
                )
                continue
            value = value.quantize(Decimal("0.0001"))
            old = getattr(copy, name)
            if old != value:
                planned.append((copy, name, old, value))
    if problems:
        raise ValidationFailed(
            f"{len(problems)} problem(s) found; nothing was saved.", problems=problems
        )
    for copy, name, old, value in planned:
        setattr(copy, name, value)
        copy.save(update_fields=[name])
        audit_record(
            cycle=locked,
            obj=copy,
            action="master_change",
            field=f"{copy.product_family.code}.{name}",
            old=old,
            new=value,
            user=user,
            note="" if scenario is None else f"scenario {scenario.name}",
        )
    return len(planned)
