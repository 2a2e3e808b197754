"""Scenarios: create one from the plan, delete it, adopt it into the plan, freeze them.

A scenario's cells and prices are rows of the plan's own tables carrying the scenario
(``PlanValue.scenario``, ``CycleFamily.scenario``). Creating one copies the plan's stored
cells and the cycle's master copy in two ``INSERT … SELECT`` statements (a 1,000-family
plan over 36 months is ~100,000 cells: no row goes through Python). Edits go through the
one write path (``plan_values_upsert`` on ``cycle.in_scenario(scenario)``); adoption
writes the differences into the plan through it too, one history entry per changed cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from planning.measures import ACTUAL_MEASURES, SYSTEM_MEASURES
from planning.models import (
    CycleFamily,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    Scenario,
    ScenarioCell,
    ScenarioStatus,
)
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.scenarios import (
    adopt_rights,
    scenario_name_check,
    scenario_refuse_frozen,
    user_can_create_scenario,
    user_can_delete_scenario,
)
from planning.services.cycle_master import FAMILY_COPY_FIELDS, cycle_master_fill
from planning.services.cycles import audit_record
from planning.services.plan_values import CellInput, plan_values_upsert
from sofp.errors import ApplicationError, PermissionDenied, Problem

MAX_DESCRIPTION = 2000
# What adoption never copies: facts (actual sales) and the model's baseline.
NOT_ADOPTED = frozenset(ACTUAL_MEASURES) | frozenset(SYSTEM_MEASURES)
PRICE_FIELDS = ("unit_price", "unit_material_cost")


class ScenarioExists(ApplicationError):
    status = 409
    code = "scenario_exists"
    title = "A scenario of that name exists"


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(model: type, names: tuple[str, ...]) -> list[str]:
    return [_qn(model._meta.get_field(n).column) for n in names]


def scenario_create(
    *,
    cycle: PlanningCycle,
    name: object,
    description: object = "",
    user: AbstractBaseUser | None,
) -> Scenario:
    """A new scenario of a cycle that is not frozen: a copy of the plan's stored cells
    and of the cycle's master copy. ``user=None`` is an operator's command.

    400 for a bad name or description, 403 unless executive or value stream manager,
    409 frozen, 409 when the name is taken.
    """
    name = scenario_name_check(name)
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ApplicationError(
            f"A description is text of at most {MAX_DESCRIPTION} characters.",
            problems=[Problem("invalid", "description: text, 2000 characters at most")],
            code="invalid",
            title="Invalid input",
        )
    if user is not None and not user_can_create_scenario(user):
        raise PermissionDenied("Scenarios are created by executives and value stream managers.")
    with transaction.atomic():
        locked = PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
        cycle_refuse_frozen(locked, "scenarios")
        if Scenario.objects.filter(cycle=locked, name=name).exists():
            raise _exists(locked, name)
        try:
            with transaction.atomic():
                scenario = Scenario.objects.create(
                    cycle=locked,
                    name=name,
                    description=description.strip(),
                    created_by=user if getattr(user, "pk", None) else None,
                )
        except IntegrityError as exc:  # created meanwhile
            raise _exists(locked, name) from exc
        cycle_master_fill(cycle=locked)
        _copy_plan(locked, scenario, uid=getattr(user, "pk", None))
        audit_record(
            cycle=locked,
            obj=scenario,
            action="scenario_create",
            field="scenario",
            old="",
            new=name,
            user=user if getattr(user, "pk", None) else None,
        )
    scenario.cycle = cycle
    return scenario


def _exists(cycle: PlanningCycle, name: str) -> ScenarioExists:
    return ScenarioExists(
        f"Cycle {cycle.label} already has a scenario {name!r}; choose another name.",
        problems=[Problem("scenario_exists", f"scenario {name!r} exists", field="name")],
    )


def _copy_plan(cycle: PlanningCycle, scenario: Scenario, *, uid: int | None) -> None:
    """Two INSERT … SELECT: the plan's filled cells into the scenario's table, and the
    cycle's family copies."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    pv = _qn(PlanValue._meta.db_table)
    sc = _qn(ScenarioCell._meta.db_table)
    names = ("cycle", "value_stream", "product_family", "month", "measure", "value", "comment")
    source = ", ".join(_columns(PlanValue, names))
    target = ", ".join(_columns(ScenarioCell, names))
    s_scenario, s_version, s_by, s_at = _columns(
        ScenarioCell, ("scenario", "version", "updated_by", "updated_at")
    )
    c_cycle, c_value = _columns(PlanValue, ("cycle", "value"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sc} ({s_scenario}, {target}, {s_version}, {s_by}, {s_at}) "
            f"SELECT %s, {source}, 1, %s, %s FROM {pv} "
            f"WHERE {c_cycle} = %s AND {c_value} IS NOT NULL",
            [scenario.pk, uid, now, cycle.pk],
        )
        cf = _qn(CycleFamily._meta.db_table)
        # The cycle's copy of a family, every column the copy holds (cycle_master's list).
        fields = ("product_family", "value_stream", *FAMILY_COPY_FIELDS)
        cols = ", ".join(_columns(CycleFamily, fields))
        f_cycle, f_scenario = _columns(CycleFamily, ("cycle", "scenario"))
        cursor.execute(
            f"INSERT INTO {cf} ({f_cycle}, {f_scenario}, {cols}) "
            f"SELECT {f_cycle}, %s, {cols} FROM {cf} WHERE {f_cycle} = %s AND {f_scenario} IS NULL",
            [scenario.pk, cycle.pk],
        )


def scenario_delete(*, scenario: Scenario, user: AbstractBaseUser | None) -> None:
    """Delete an open scenario with its cells, prices and history (a frozen one stays
    with its frozen cycle). Executives, or its creator."""
    if user is not None and not user_can_delete_scenario(user, scenario):
        raise PermissionDenied("A scenario is deleted by executives or by whoever created it.")
    with transaction.atomic():
        locked = PlanningCycle.objects.select_for_update().get(pk=scenario.cycle_id)
        scenario.cycle = locked
        scenario_refuse_frozen(scenario)
        with connection.cursor() as cursor:
            for model in (PlanValueChange, ScenarioCell, CycleFamily):
                table = _qn(model._meta.db_table)
                column = _qn(model._meta.get_field("scenario").column)
                cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [scenario.pk])
        audit_record(
            cycle=locked,
            obj=scenario,
            action="scenario_delete",
            field="scenario",
            old=scenario.name,
            new="",
            user=user if getattr(user, "pk", None) else None,
        )
        scenario.delete()


def scenarios_freeze(*, cycle: PlanningCycle) -> int:
    """Approval freezes the cycle's scenarios with it (called inside the approval)."""
    return Scenario.objects.filter(cycle=cycle).update(status=ScenarioStatus.FROZEN)


@dataclass
class AdoptResult:
    cells: int = 0  # plan cells added, changed or cleared
    prices: int = 0  # master-copy numbers changed
    skipped_streams: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.cells} cell(s) and {self.prices} price(s) adopted"


def _filled(qs) -> dict[tuple, Decimal]:
    return {
        (vs or "", fam or "", month, measure): value
        for vs, fam, month, measure, value in qs.filter(PlanValue.filled)
        .exclude(measure__in=NOT_ADOPTED)
        .values_list("value_stream__code", "product_family__code", "month", "measure", "value")
        .order_by()
    }


def scenario_adopt(*, scenario: Scenario, user: AbstractBaseUser | None) -> AdoptResult:
    """Make the plan's inputs equal to the scenario's: every plan cell that differs
    takes the scenario's value (cleared where the scenario has none), one history entry
    per changed cell "adopted from scenario NAME". Executives adopt everything (and the
    scenario's prices); value stream managers the cells of the streams they manage.
    Adopting again changes nothing."""
    rights = adopt_rights(user)
    if not rights.allowed:
        raise PermissionDenied(
            "Scenarios are adopted by executives, and by value stream managers for "
            "their own streams."
        )
    note = f"adopted from scenario {scenario.name}"
    with transaction.atomic():
        cycle = PlanningCycle.objects.select_for_update().get(pk=scenario.cycle_id)
        scenario.cycle = cycle
        scenario_refuse_frozen(scenario)
        plan = _filled(PlanValue.objects.filter(cycle=cycle))
        theirs = _filled(ScenarioCell.objects.filter(scenario=scenario))
        stream_ids = None
        if rights.streams is not None:
            from valuestreams.models import ValueStream

            stream_ids = set(
                ValueStream.objects.filter(pk__in=rights.streams).values_list("code", flat=True)
            )
        cells = []
        for key in sorted(set(plan) | set(theirs), key=lambda k: (k[0], k[1], k[2], k[3])):
            vs, fam, month, measure = key
            if stream_ids is not None and vs not in stream_ids:
                continue
            if not vs and not rights.company:
                continue
            new = theirs.get(key)
            if plan.get(key) != new:
                cells.append(CellInput(vs, fam, month, measure, new))
        result = AdoptResult()
        if cells:
            written = plan_values_upsert(
                cycle=cycle,
                cells=cells,
                user=None,
                source=PlanValueChange.Source.ADOPT,
                note=note,
                recorded_by=user,
            )
            result.cells = written.touched
        if rights.company:
            result.prices = _adopt_prices(cycle, scenario, user=user, note=note)
        if result.cells or result.prices:
            Scenario.objects.filter(pk=scenario.pk).update(
                adopted_at=timezone.now(),
                adopted_by=user if getattr(user, "pk", None) else None,
            )
            audit_record(
                cycle=cycle,
                obj=scenario,
                action="scenario_adopt",
                field="scenario",
                old="",
                new=scenario.name,
                note=result.summary(),
                user=user if getattr(user, "pk", None) else None,
            )
    return result


def _adopt_prices(
    cycle: PlanningCycle, scenario: Scenario, *, user: AbstractBaseUser | None, note: str
) -> int:
    theirs = {
        c.product_family_id: c
        for c in CycleFamily.all_objects.filter(scenario=scenario).select_related("product_family")
    }
    from planning.services.cycle_master import _scenario_copies_follow

    changed = 0
    moved: list[tuple] = []
    for copy in CycleFamily.objects.select_for_update(of=("self",)).filter(
        cycle=cycle, product_family_id__in=list(theirs)
    ):
        other = theirs[copy.product_family_id]
        fields = [f for f in PRICE_FIELDS if getattr(copy, f) != getattr(other, f)]
        if not fields:
            continue
        olds = {f: getattr(copy, f) for f in fields}
        for f in fields:
            old = getattr(copy, f)
            setattr(copy, f, getattr(other, f))
            changed += 1
            audit_record(
                cycle=cycle,
                obj=copy,
                action="price",
                field=f,
                old=old,
                new=getattr(other, f),
                user=user if getattr(user, "pk", None) else None,
                note=f"{other.product_family.code}: {note}",
            )
        copy.save(update_fields=fields)
        moved += [(cycle.pk, copy.product_family_id, f, olds[f], getattr(copy, f)) for f in fields]
    # Other scenarios that still had the plan's old number follow it (one rule, one place).
    _scenario_copies_follow(moved)
    return changed
