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

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from planning.models import (
    CycleFamily,
    CycleStatus,
    CycleValueStream,
    PlanningCycle,
    Scenario,
    ScenarioStatus,
    cycle_scenario,
)
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.prices import user_can_edit_prices
from sofp.errors import PermissionDenied, Problem, ValidationFailed, VersionConflict
from valuestreams.models import ProductFamily, ValueStream

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
MAX_PRICE = Decimal("1e12")


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


def _copy_missing(copy: type, master: type, key: str, fields: Sequence[str], cycle_id: int) -> int:
    """``INSERT … SELECT`` of the master rows the cycle has no plan copy of: one
    statement, no model instance per family (a cycle of 5,000 families starts at once).
    A copy made meanwhile by another writer is left as it is (``ON CONFLICT DO NOTHING``).
    """
    qn = connection.ops.quote_name
    table, source = qn(copy._meta.db_table), qn(master._meta.db_table)
    own = [qn(copy._meta.get_field(f).column) for f in (key, *fields)]
    theirs = [qn(master._meta.get_field(f).column) for f in ("id", *fields)]
    cycle_col, key_col = qn(copy._meta.get_field("cycle").column), own[0]
    plan_only = ""
    if any(f.name == "scenario" for f in copy._meta.get_fields()):
        plan_only = f" AND c.{qn(copy._meta.get_field('scenario').column)} IS NULL"
    sql = (
        f"INSERT INTO {table} ({cycle_col}, {', '.join(own)}) "
        f"SELECT %s, {', '.join('m.' + c for c in theirs)} FROM {source} m "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} c WHERE c.{cycle_col} = %s "
        f"AND c.{key_col} = m.{theirs[0]}{plan_only}) ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [cycle_id, cycle_id])
        return max(cursor.rowcount, 0)


def cycle_master_fill(*, cycle: PlanningCycle) -> int:
    """Copy the master of every family and stream the cycle has no copy of yet.

    Existing copies stay as they are (the cycle may have its own prices). Returns how
    many family copies were made.
    """
    made = _copy_missing(
        CycleFamily,
        ProductFamily,
        "product_family",
        ("value_stream", *FAMILY_COPY_FIELDS),
        cycle.pk,
    )
    _copy_missing(CycleValueStream, ValueStream, "value_stream", STREAM_COPY_FIELDS, cycle.pk)
    return made


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
    *,
    family_ids: Iterable[int] | None = None,
    stream_ids: Iterable[int] | None = None,
    family_fields: Sequence[str] | None = None,
) -> int:
    """Give every cycle that is not frozen the master's current values of these families
    and streams (``None``: none of that kind). Frozen cycles are never touched.

    ``family_fields`` limits an existing copy's update to those fields (a launch moving
    its family in or out of the plan changes ``active`` only, so an open cycle's own
    prices stay); a cycle without a copy of the family gets a whole one. Returns the
    number of copies written.
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
        families = list(ProductFamily.objects.filter(pk__in=fam_ids))
        fields = (
            ["value_stream", *FAMILY_COPY_FIELDS]
            if family_fields is None
            else [f for f in family_fields if f in ("value_stream", *FAMILY_COPY_FIELDS)]
        )
        followed = [f for f in fields if f != "value_stream"]
        existing = {
            (row[1], row[2]): row
            for row in CycleFamily.objects.filter(
                cycle_id__in=cycles, product_family_id__in=fam_ids
            ).values_list("pk", "cycle_id", "product_family_id", *followed)
        }
        create, update, moved = [], [], []
        for cycle_id in cycles:
            for family in families:
                copy = _family_copy(cycle_id, family)
                row = existing.get((cycle_id, family.pk))
                if row is None:
                    create.append(copy)
                    continue
                copy.pk = row[0]
                update.append(copy)
                for name, old in zip(followed, row[3:], strict=True):
                    moved.append((cycle_id, family.pk, name, old, getattr(copy, name)))
        CycleFamily.objects.bulk_create(create, batch_size=1000)
        if fields:
            CycleFamily.objects.bulk_update(update, fields, batch_size=1000)
        _scenario_copies_follow(moved)
        written += len(create) + len(update)
    if vs_ids:
        streams = list(ValueStream.objects.filter(pk__in=vs_ids))
        existing = {
            (c, s): pk
            for pk, c, s in CycleValueStream.objects.filter(
                cycle_id__in=cycles, value_stream_id__in=vs_ids
            ).values_list("pk", "cycle_id", "value_stream_id")
        }
        create_s, update_s = [], []
        for cycle_id in cycles:
            for stream in streams:
                copy = _stream_copy(cycle_id, stream)
                copy.pk = existing.get((cycle_id, stream.pk))
                (update_s if copy.pk else create_s).append(copy)
        CycleValueStream.objects.bulk_create(create_s, batch_size=1000)
        CycleValueStream.objects.bulk_update(update_s, list(STREAM_COPY_FIELDS), batch_size=1000)
        written += len(create_s) + len(update_s)
    return written


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
    base: Mapping[str, Mapping[str, object]] | None = None,
) -> int:
    """THE write path of a cycle's prices and costs (the Prices page through
    :func:`planning.services.prices.cycle_prices_set`, the API, scenario files).

    ``changes`` are ``{"product_family": CODE, "unit_price": "12.5", ...}``; ``base``
    (``{code: {field: value}}``) is what the user's form showed: a number changed by
    someone else since is a conflict (409), nothing saved. Finance (and administrators)
    only, never in a frozen cycle, all or nothing; every changed number is recorded as
    one ``price`` audit event (who, when, old → new). The master is not changed.
    ``user=None`` is a trusted operator path. A cycle seen through a scenario changes the
    scenario's copy only; a change of the plan's copy carries along every scenario copy
    that still had the plan's old number (:func:`_scenario_copies_follow`). Returns the
    number of changed fields.
    """
    from planning.services.cycles import audit_record

    if user is not None and not user_can_edit_prices(user):
        raise PermissionDenied("Only finance changes a cycle's prices and costs.")
    scenario = cycle_scenario(cycle)
    locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
    cycle_refuse_frozen(locked, "price changes")
    codes = [str(c.get("product_family", "")) for c in changes]
    if scenario is None:
        cycle_master_fill(cycle=locked)  # complete (a family added since it started)
        copies_qs = CycleFamily.objects.filter(cycle=locked)
    else:
        from planning.selectors.scenarios import scenario_refuse_frozen

        scenario.cycle = locked
        scenario_refuse_frozen(scenario)
        copies_qs = CycleFamily.all_objects.filter(cycle=locked, scenario=scenario)
    copies = {
        c.product_family.code: c
        for c in copies_qs.select_for_update(of=("self",))
        .filter(product_family__code__in=codes)
        .select_related("product_family")
    }
    problems: list[Problem] = []
    planned: dict[tuple[int, str], tuple[CycleFamily, str, Decimal, Decimal]] = {}
    conflicts: list[dict] = []
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
                    product_family=code or None,
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
            if value is None or value < 0 or value >= MAX_PRICE:
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
            seen = _decimal((base or {}).get(code, {}).get(name))
            if seen is not None and seen != old:
                conflicts.append({"family": code, "field": name, "current": str(old)})
                continue
            if old != value:
                planned[(copy.pk, name)] = (copy, name, old, value)
    if problems:
        raise ValidationFailed(
            f"{len(problems)} problem(s) found; nothing was saved.", problems=problems
        )
    if conflicts:
        raise VersionConflict(
            "Someone changed these prices since you opened the page; nothing was saved: "
            + ", ".join(f"{c['family']} {c['field']} is now {c['current']}" for c in conflicts),
            conflicts=conflicts,
        )
    by_copy: dict[int, list[str]] = {}
    for copy, name, _old, value in planned.values():
        setattr(copy, name, value)
        by_copy.setdefault(copy.pk, []).append(name)
    for copy, name, old, value in planned.values():
        audit_record(
            cycle=locked,
            obj=copy,
            action="price",
            field=name,
            old=old,
            new=value,
            user=user if getattr(user, "pk", None) else None,
            note=copy.product_family.code
            if scenario is None
            else f"{copy.product_family.code} (scenario {scenario.name})",
        )
    for copy in {c.pk: c for c, *_ in planned.values()}.values():
        copy.save(update_fields=by_copy[copy.pk])
    if scenario is None:
        _scenario_copies_follow(
            [
                (locked.pk, copy.product_family_id, name, old, value)
                for copy, name, old, value in planned.values()
            ]
        )
    return len(planned)


def _scenario_copies_follow(changes: Iterable[tuple[int, int, str, object, object]]) -> int:
    """The follow rule of scenario prices: when the plan's copy of a family changes
    ``field`` from ``old`` to ``new`` in cycle ``cycle_id`` (finance's page or API, the
    master's sync from ``import_master``, the admin or the master-data API, adoption), each
    of the cycle's scenarios whose own copy still holds ``old`` — the scenario never
    changed it — takes ``new``; a scenario that changed the number keeps its own.
    Frozen scenarios never change. Returns the number of scenario copies changed."""
    changes = [c for c in changes if c[3] != c[4]]
    if not changes:
        return 0
    cycle_ids = {c[0] for c in changes}
    if (
        not Scenario.objects.filter(cycle_id__in=cycle_ids)
        .exclude(status=ScenarioStatus.FROZEN)
        .exists()
    ):
        return 0
    grouped: dict[tuple[int, str, object, object], list[int]] = {}
    for cycle_id, family_id, field, old, new in changes:
        grouped.setdefault((cycle_id, field, old, new), []).append(family_id)
    written = 0
    for (cycle_id, field, old, new), family_ids in grouped.items():
        written += (
            CycleFamily.all_objects.filter(
                cycle_id=cycle_id,
                scenario__isnull=False,
                product_family_id__in=family_ids,
                **{field: old},
            )
            .exclude(scenario__status=ScenarioStatus.FROZEN)
            .update(**{field: new})
        )
    return written
