"""Writing plan values: the one path every import, grid save and API call goes through.

It validates every cell (codes, scope, month, sign, duplicates, permissions) before it
writes anything, refuses frozen cycles, detects stale versions, and records history.
Every problem is a :class:`~sofp.errors.Problem` naming the cell's line (files) or index
(API rows, grid cells), the input field and the cell; callers map them without reading
the words.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from planning.calendar import month_add
from planning.measures import (
    ACTUAL_MEASURES,
    ACTUALS_HISTORY_MONTHS,
    COMPANY,
    FAMILY,
    FIRST_MONTH_ONLY,
    MAX_VALUE,  # noqa: F401 (plan_values_bulk imports it from here)
    MEASURE_SCOPE,
    STREAM,
    SYSTEM_MEASURES,
    VALUE_QUANTUM,
    value_problems,
)
from planning.models import (
    CycleStatus,
    PlanningCycle,
    PlanValue,
    PlanValueChange,
    Scenario,
    ScenarioCell,
    cycle_scenario,
)
from planning.selectors.actuals import current_month
from planning.selectors.cycles import cycle_refuse_frozen
from planning.selectors.plans import PlanRights, plan_rights, user_can_edit_plan
from planning.services.write_counts import WriteCounts
from sofp.errors import (
    PermissionDenied,
    Problem,
    ValidationFailed,
    VersionConflict,
    problems_sorted,
)
from valuestreams.models import ProductFamily, ValueStream

CellKey = tuple[int | None, int | None, dt.date, str]


@dataclass(frozen=True)
class CellInput:
    """One cell to write. ``value=None`` clears the cell; ``version`` is what the user saw
    (0 = the cell was empty). ``line`` is the cell's line in a file; without it problems
    name the cell's position in the request (``index``). ``label`` is a human name for
    the cell (grid), used where a message points at another cell."""

    value_stream: str
    product_family: str
    month: dt.date
    measure: str
    value: Decimal | None
    version: int | None = None
    label: str = ""
    line: int | None = None
    column: str = ""  # a wide file's month column: problems name it with the line


@dataclass(frozen=True, slots=True)
class StoredCell:
    """What a written cell holds now (``pk`` None: the cell is empty)."""

    pk: int | None
    value: Decimal | None
    version: int


EMPTY = StoredCell(None, None, 0)


@dataclass
class CellChange:
    """One cell an import adds, changes or clears: where, and its value before and after."""

    value_stream: str
    product_family: str
    month: dt.date
    measure: str
    old: Decimal | None
    new: Decimal | None


@dataclass
class UpsertResult(WriteCounts):
    """What ``plan_values_upsert`` did: the counts, per stream too, what each input
    holds now and the changes an import preview lists."""

    # What each input cell holds after the write, in the order the cells were given.
    stored: list[StoredCell] = field(default_factory=list)
    # The same counts per value stream code ("" = company-wide cells), for previews.
    by_stream: dict[str, dict[str, int]] = field(default_factory=dict)
    # Each cell that changes, old → new (the upload preview lists them).
    changes: list[CellChange] = field(default_factory=list)

    def count(self, stream_code: str, outcome: str) -> None:
        tally = self.by_stream.setdefault(
            stream_code, {"added": 0, "changed": 0, "unchanged": 0, "deleted": 0}
        )
        tally[outcome] += 1


def cycle_accepts_month(*, cycle: PlanningCycle, measure: str, month: dt.date) -> bool:
    """Horizon months for plans; actual sales also for the months just before it."""
    last = month_add(cycle.month, cycle.horizon - 1)
    if measure in FIRST_MONTH_ONLY:
        return month == cycle.month
    first = (
        month_add(cycle.month, -ACTUALS_HISTORY_MONTHS)
        if measure == "actual_sales"
        else (cycle.month)
    )
    return month.day == 1 and first <= month <= last


def cell_problem(i: int, cell: CellInput, code: str, message: str, field: str | None = None):
    """A problem with the ``i``-th input cell: its line (files) or index, and the cell."""
    return Problem(
        code,
        message,
        index=None if cell.line is not None else i,
        line=cell.line,
        column=(
            None if not cell.column else cell.column if field in (None, "value", "month") else field
        ),
        field=field,
        value_stream=cell.value_stream or None,
        product_family=cell.product_family or None,
        month=cell.month.strftime("%Y-%m") if isinstance(cell.month, dt.date) else None,
        measure=cell.measure or None,
    )


def _name(i: int, cell: CellInput) -> str:
    """How a message points at a cell: its label, its line, or its row."""
    return cell.label or (f"line {cell.line}" if cell.line is not None else f"row {i}")


@dataclass
class _Resolved:
    i: int
    cell: CellInput
    key: CellKey
    value_stream: ValueStream | None
    family: ProductFamily | None
    value: Decimal | None


def _resolve(
    *, cycle: PlanningCycle, cells: Sequence[CellInput], last_actual: dt.date | None = None
) -> tuple[list[_Resolved], list[Problem]]:
    """Map codes to rows and check every cell; return all problems, not the first."""
    stream_codes = {c.value_stream for c in cells if c.value_stream}
    family_codes = {c.product_family for c in cells if c.product_family}
    streams = {vs.code: vs for vs in ValueStream.objects.filter(code__in=stream_codes)}
    families = {
        f.code: f
        for f in ProductFamily.objects.filter(code__in=family_codes).select_related("value_stream")
    }
    problems: list[Problem] = []
    resolved: list[_Resolved] = []
    seen: dict[CellKey, str] = {}
    for i, cell in enumerate(cells):
        vs = streams.get(cell.value_stream) if cell.value_stream else None
        fam = families.get(cell.product_family) if cell.product_family else None
        found = _cell_problems(cycle=cycle, cell=cell, vs=vs, fam=fam, last_actual=last_actual)
        key: CellKey = (vs.pk if vs else None, fam.pk if fam else None, cell.month, cell.measure)
        if not found and key in seen:
            found = [("duplicate", f"duplicate of {seen[key]}", None)]
        if found:
            problems += [cell_problem(i, cell, *f) for f in found]
            continue
        seen[key] = _name(i, cell)
        value = None if cell.value is None else cell.value.quantize(VALUE_QUANTUM)
        resolved.append(_Resolved(i, cell, key, vs, fam, value))
    return resolved, problems


def _cell_problems(
    *,
    cycle: PlanningCycle,
    cell: CellInput,
    vs: ValueStream | None,
    fam: ProductFamily | None,
    last_actual: dt.date | None = None,
) -> list[tuple[str, str, str | None]]:
    """``(code, message, field)`` of everything wrong with one cell.

    ``last_actual``: the last month that has started; actuals after it are refused
    (None: a system path that may write any month, e.g. the roll forward).
    """
    out: list[tuple[str, str, str | None]] = []
    m = cell.measure
    scope = MEASURE_SCOPE.get(m)
    if scope is None:
        out.append(("unknown_measure", f"unknown measure {m!r}", "measure"))
    if cell.value_stream and vs is None:
        out.append(
            ("unknown_value_stream", f"unknown value stream {cell.value_stream!r}", "value_stream")
        )
    if cell.product_family and fam is None:
        out.append(
            (
                "unknown_product_family",
                f"unknown product family {cell.product_family!r}",
                "product_family",
            )
        )
    if scope == FAMILY and not cell.product_family:
        out.append(
            ("needs_product_family", f"measure {m!r} needs a product family", "product_family")
        )
    if scope in (FAMILY, STREAM) and not cell.value_stream:
        out.append(("needs_value_stream", f"measure {m!r} needs a value stream", "value_stream"))
    if scope == STREAM and cell.product_family:
        out.append(
            ("takes_no_product_family", f"measure {m!r} takes no product family", "product_family")
        )
    if scope == COMPANY and (cell.value_stream or cell.product_family):
        field = "value_stream" if cell.value_stream else "product_family"
        out.append(("takes_no_stream", f"measure {m!r} takes no value stream or family", field))
    if fam is not None and vs is not None and fam.value_stream_id != vs.pk:
        out.append(
            (
                "family_in_other_stream",
                f"product family {fam.code!r} belongs to value stream "
                f"{fam.value_stream.code!r}, not {vs.code!r}",
                "product_family",
            )
        )
    if scope and not cycle_accepts_month(cycle=cycle, measure=m, month=cell.month):
        if m in FIRST_MONTH_ONLY:
            message = (
                f"{m} belongs to the cycle's first month {cycle.month:%Y-%m}, "
                f"not {cell.month:%Y-%m}"
            )
            out.append(("first_month_only", message, "month"))
        else:
            last = month_add(cycle.month, cycle.horizon - 1)
            message = (
                f"month {cell.month:%Y-%m} is outside the horizon {cycle.month:%Y-%m}..{last:%Y-%m}"
            )
            out.append(("outside_horizon", message, "month"))
    if vs is not None and not vs.active:
        out.append(
            (
                "inactive_value_stream",
                f"value stream {vs.code!r} is inactive; its plan cannot be changed",
                "value_stream",
            )
        )
    if fam is not None and not fam.active:
        out.append(
            (
                "inactive_product_family",
                f"product family {fam.code!r} is inactive; its plan cannot be changed",
                "product_family",
            )
        )
    if (
        last_actual is not None
        and m in ACTUAL_MEASURES
        and isinstance(cell.month, dt.date)
        and cell.month > last_actual
    ):
        out.append(
            (
                "future_actual",
                f"{m} for {cell.month:%Y-%m} cannot be entered before the month has started "
                f"(the last month open for actuals is {last_actual:%Y-%m})",
                "month",
            )
        )
    out += value_problems(m, cell.value)
    return out


def _system_measure_problems(*, cells: Sequence[CellInput], source: str) -> list[Problem]:
    """The statistical baseline is the model's, never typed, imported or rolled forward:
    only the baseline forecast (source "baseline") writes it."""
    if source == PlanValueChange.Source.BASELINE:
        return []
    return [
        cell_problem(
            i,
            cell,
            "read_only_measure",
            f"{cell.measure} is computed by the statistical forecast and cannot be entered",
            "measure",
        )
        for i, cell in enumerate(cells)
        if cell.measure in SYSTEM_MEASURES
    ]


def _check_permissions(
    *, user: AbstractBaseUser | None, rows: list[_Resolved], rights: PlanRights | None = None
) -> None:
    """Every cell of a stream (or the company) the user may not edit, once per stream
    (``rights``: the user's, when the caller read them in this request)."""
    rights = plan_rights(user=user) if rights is None else rights
    problems: list[Problem] = []
    denied: set[tuple[int | None, str]] = set()
    for r in rows:
        stream_id, measure = r.key[0], r.key[3]
        if (
            rights.may_edit(value_stream_id=stream_id, measure=measure)
            or (stream_id, measure) in denied
        ):
            continue
        denied.add((stream_id, measure))
        if r.value_stream is None:
            message = (
                f"you may not change the company-wide {measure}"
                if rights.company
                else "you may not edit company-wide values"
            )
        elif rights.may_edit(value_stream_id=stream_id):
            message = f"you may not change {measure} of value stream {r.value_stream.code!r}"
        else:
            message = f"you are not a planner of value stream {r.value_stream.code!r}"
        problems.append(cell_problem(r.i, r.cell, "forbidden", message, "value_stream"))
    if problems:
        raise PermissionDenied(
            "Not allowed: " + "; ".join(p.text for p in problems[:20]), problems=problems
        )


def _cycle_locked(cycle: PlanningCycle) -> PlanningCycle:
    """The cycle's row, locked against approval until the write commits.

    Writers to an open cycle share the lock: they only conflict on the cells they touch,
    and those rows are locked one by one (``_existing``) while a new cell's unique key
    stops a second insert. Approval locks the row exclusively (FOR UPDATE), so it waits
    for the writes in flight and every write after it sees the cycle frozen. A draft
    cycle's own row is updated by the write (``updated_at``), so a draft is locked
    exclusively as before. (SQLite has no row locks: its writers queue for the database.)
    """
    if _locks_alone(cycle):
        return PlanningCycle.objects.select_for_update().get(pk=cycle.pk)
    table = connection.ops.quote_name(PlanningCycle._meta.db_table)
    found = list(
        PlanningCycle.objects.raw(f"SELECT * FROM {table} WHERE id = %s FOR SHARE", [cycle.pk])
    )
    if not found:
        raise PlanningCycle.DoesNotExist(f"No planning cycle {cycle.pk}")
    return found[0]


def _locks_alone(cycle: PlanningCycle) -> bool:
    """Whether a write to ``cycle`` takes its row exclusively (a draft; SQLite always)."""
    return cycle.status == CycleStatus.DRAFT or not connection.features.has_select_for_update


def _existing(
    *, cycle: PlanningCycle, scenario: Scenario | None, rows: list[_Resolved]
) -> dict[CellKey, _Current]:
    """The stored cells the rows address, locked for the write (one query).

    Rows are locked in id order, so two writers whose cells overlap queue up instead of
    deadlocking.
    """
    if not rows:
        return {}
    months = {r.key[2] for r in rows}
    measures = {r.key[3] for r in rows}
    families = {r.key[1] for r in rows}
    family_scope = Q(product_family_id__in={f for f in families if f is not None})
    if None in families:
        family_scope |= Q(product_family__isnull=True)
    qs = (
        _cells_of(cycle, scenario)
        .select_for_update(of=("self",))
        .filter(month__in=months, measure__in=measures)
        .filter(_stream_scope({r.key[0] for r in rows}))
        .filter(family_scope)
        .order_by("pk")
        .values_list(
            "pk",
            "value_stream_id",
            "product_family_id",
            "month",
            "measure",
            "value",
            "version",
            "updated_by__username",
            "updated_at",
        )
    )
    return {
        (vs, fam, month, measure): _Current(pk, value, version, who, at)
        for pk, vs, fam, month, measure, value, version, who, at in qs
    }


def _cell_model(scenario: Scenario | None) -> type[PlanValue] | type[ScenarioCell]:
    """Where a cell lives: the plan's table, or the scenario's (same columns)."""
    return PlanValue if scenario is None else ScenarioCell


def _cells_of(cycle: PlanningCycle, scenario: Scenario | None):
    if scenario is None:
        return PlanValue.objects.filter(cycle=cycle)
    return ScenarioCell.objects.filter(scenario=scenario)


def _version_matches(current: _Current | None, version: int) -> bool:
    """Whether a write's ``version`` is what the cell holds now. An empty cell is
    version 0 — or, when it was cleared, its tombstone's version (the grid and the API
    show that one); a version read before the clear is stale."""
    if current is None:
        return version == 0
    if current.value is None:
        return version in (0, current.version)
    return version == current.version


def _stream_scope(stream_ids: set[int | None]) -> Q:
    scope = Q(value_stream_id__in={s for s in stream_ids if s is not None})
    if None in stream_ids:
        scope |= Q(value_stream__isnull=True)
    return scope


@dataclass(frozen=True, slots=True)
class _Current:
    """A stored cell as the write finds it."""

    pk: int
    value: Decimal | None  # None: a tombstone (the cell was cleared)
    version: int
    changed_by: str | None
    changed_at: dt.datetime


def _utc_text(value: dt.datetime) -> str:
    """Timestamps leave the app in UTC with ``Z`` (API, grid, problem JSON alike)."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _conflict_payload(r: _Resolved, current: _Current | None) -> dict:
    cell = r.cell
    return {
        "index": r.i,
        "label": _name(r.i, cell),
        "value_stream": cell.value_stream,
        "product_family": cell.product_family,
        "month": cell.month.strftime("%Y-%m"),
        "measure": cell.measure,
        "your_version": cell.version,
        "current_value": None if current is None or current.value is None else str(current.value),
        "current_version": 0 if current is None else current.version,
        "changed_by": None if current is None else current.changed_by,
        "changed_at": None if current is None else _utc_text(current.changed_at),
    }


def plan_values_upsert(
    *,
    cycle: PlanningCycle,
    cells: Iterable[CellInput],
    user: AbstractBaseUser | None,
    source: str = PlanValueChange.Source.GRID,
    check_versions: bool = False,
    dry_run: bool = False,
    note: str = "",
    recorded_by: AbstractBaseUser | None = None,
    rights: PlanRights | None = None,
) -> UpsertResult:
    """Validate and write ``cells`` atomically; nothing is written if anything is wrong.

    A cycle seen through a scenario (``PlanningCycle.in_scenario``) writes the
    scenario's cells, never the plan's. ``note`` goes into each history entry
    ("adopted from scenario NAME"); ``recorded_by`` is who history names when a trusted
    path (``user=None``) writes for someone (adoption). ``rights``: ``plan_rights(user=
    user)`` when the caller has read them in this request (the grid's access check);
    read here otherwise.

    Raises FrozenCycleError (cycle approved), ValidationFailed (every bad cell listed),
    PermissionDenied (a stream the user may not edit) or VersionConflict (a stale
    ``version``; each conflict carries the cell's index, the current value and who
    changed it). ``user=None`` is a trusted system path (demo data, an operator's
    command).

    Writers of one cycle run side by side (see ``_cycle_locked``). When another writer
    creates one of the same new cells first, a write that carries no versions (a file,
    an API call without versions) simply runs again and finds the cells there — as if it
    had waited its turn; a write with versions gets the conflict.
    """
    cells = list(cells)
    for attempt in range(1, _CREATE_RETRIES + 1):
        try:
            return _upsert(
                cycle=cycle,
                cells=cells,
                user=user,
                source=source,
                check_versions=check_versions,
                dry_run=dry_run,
                note=note,
                recorded_by=recorded_by,
                rights=rights,
            )
        except _CreatedMeanwhile as exc:
            if exc.versioned or attempt == _CREATE_RETRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


_CREATE_RETRIES = 3


class _CreatedMeanwhile(VersionConflict):
    """Another writer created one of the new cells first (their unique key)."""

    def __init__(self, *, versioned: bool) -> None:
        super().__init__(
            "Someone else created these cells in the meantime; nothing was saved.",
            conflicts=[],
        )
        self.versioned = versioned


def _upsert(
    *,
    cycle: PlanningCycle,
    cells: list[CellInput],
    user: AbstractBaseUser | None,
    source: str,
    check_versions: bool,
    dry_run: bool,
    note: str = "",
    recorded_by: AbstractBaseUser | None = None,
    rights: PlanRights | None = None,
) -> UpsertResult:
    scenario = cycle_scenario(cycle)
    with transaction.atomic():
        # Lock the cycle row against approval: an approval that commits first is seen
        # here, so no write can slip into a frozen plan (see _cycle_locked).
        locked = _cycle_locked(cycle)
        cycle_refuse_frozen(locked)
        if scenario is not None:
            _scenario_refuse_gone(scenario)
        # Actuals are facts of months that have started: on every path people use
        # (grid, files, API); system paths (user None: roll forward, demo) are trusted.
        last_actual = None if user is None else current_month()
        rows, problems = _resolve(cycle=locked, cells=cells, last_actual=last_actual)
        problems += _system_measure_problems(cells=cells, source=source)
        if scenario is not None:
            problems += _scenario_measure_problems(cells=cells)
        if problems:
            # Every problem at once: the cells it may not change as well as the bad ones.
            try:
                _check_permissions(user=user, rows=rows, rights=rights)
            except PermissionDenied as denied:
                problems = problems_sorted([*problems, *denied.problems])
            raise ValidationFailed(
                f"{len(problems):,} problem(s) found; nothing was saved.", problems=problems
            )
        _check_permissions(user=user, rows=rows, rights=rights)
        existing = _existing(cycle=locked, scenario=scenario, rows=rows)

        if check_versions:
            conflicts = [
                _conflict_payload(r, existing.get(r.key))
                for r in rows
                if r.cell.version is not None
                and not _version_matches(existing.get(r.key), r.cell.version)
            ]
            if conflicts:
                raise VersionConflict(
                    "Someone else changed this in the meantime; nothing was saved.",
                    conflicts=conflicts,
                )

        result = UpsertResult(stored=[EMPTY] * len(cells))
        to_create: list[_Resolved] = []
        to_update: list[tuple[int, Decimal, int]] = []
        to_delete: list[tuple[int, None, int]] = []  # (pk, NULL, version): tombstones
        history: list[_Change] = []
        now = timezone.now()
        uid = getattr(user if user is not None else recorded_by, "pk", None)
        for r in rows:
            current = existing.get(r.key)
            code = r.value_stream.code if r.value_stream else ""
            if r.value is None:
                if current is None or current.value is None:
                    result.unchanged += 1
                    result.count(code, "unchanged")
                    if current is not None:
                        result.stored[r.i] = StoredCell(current.pk, None, current.version)
                else:
                    # Cleared: the row stays as a tombstone, so the version goes on.
                    version = current.version + 1
                    result.count(code, "deleted")
                    to_delete.append((current.pk, None, version))
                    history.append(_Change(r, current.pk, current.value, None, version))
                    result.stored[r.i] = StoredCell(current.pk, None, version)
            elif current is not None and current.value is None:
                # Written again after a clear: a new value, the same version sequence.
                version = current.version + 1
                history.append(_Change(r, current.pk, None, r.value, version))
                to_update.append((current.pk, r.value, version))
                result.count(code, "added")
                result.stored[r.i] = StoredCell(current.pk, r.value, version)
            elif current is None:
                to_create.append(r)
                result.count(code, "added")
                history.append(_Change(r, None, None, r.value, 1))
                result.stored[r.i] = StoredCell(None, r.value, 1)
            elif current.value != r.value:
                version = current.version + 1
                history.append(_Change(r, current.pk, current.value, r.value, version))
                to_update.append((current.pk, r.value, version))
                result.count(code, "changed")
                result.stored[r.i] = StoredCell(current.pk, r.value, version)
            else:
                result.unchanged += 1
                result.count(code, "unchanged")
                result.stored[r.i] = StoredCell(current.pk, current.value, current.version)
        tally = [t for by in result.by_stream.values() for t in by.items()]
        result.added = sum(n for k, n in tally if k == "added")
        result.changed = sum(n for k, n in tally if k == "changed")
        result.deleted = sum(n for k, n in tally if k == "deleted")
        result.changes = [
            CellChange(
                ch.row.value_stream.code if ch.row.value_stream else "",
                ch.row.family.code if ch.row.family else "",
                ch.row.cell.month,
                ch.row.cell.measure,
                ch.old,
                ch.new,
            )
            for ch in history
        ]
        if dry_run:
            transaction.set_rollback(True)
            return result
        # New cells go in key order: two writers creating the same cells wait for each
        # other in the same order (no deadlock), and the second gets a conflict.
        to_create.sort(key=lambda r: tuple((x is None, x or 0) for x in r.key[:2]) + r.key[2:])
        try:
            created = _insert_cells(
                cycle=locked, scenario=scenario, rows=to_create, uid=uid, now=now
            )
        except IntegrityError as exc:  # a concurrent writer created the same cell first
            versioned = check_versions and any(r.cell.version is not None for r in to_create)
            raise _CreatedMeanwhile(versioned=versioned) from exc
        for r in to_create:
            result.stored[r.i] = StoredCell(created.get(r.key), r.value, 1)
        _update_cells(to_update + to_delete, uid=uid, now=now, model=_cell_model(scenario))
        _insert_history(
            cycle=locked,
            scenario=scenario,
            changes=history,
            created=created,
            source=source,
            uid=uid,
            now=now,
            note=note,
        )
        if scenario is None:  # a scenario's cells are what-ifs, never facts
            _actual_sales_mirror(rows, cycle=locked, source=source)
        # Only a write holding the row alone may update it (two sharers would deadlock).
        if locked.status == CycleStatus.DRAFT and _locks_alone(cycle) and result.touched:
            PlanningCycle.objects.filter(pk=locked.pk).update(updated_at=now)
        return result


def _scenario_refuse_gone(scenario: Scenario) -> None:
    """A scenario deleted (or frozen) since the caller found it takes no writes."""
    from planning.selectors.scenarios import scenario_refuse_frozen

    current = Scenario.objects.filter(pk=scenario.pk).select_related("cycle").first()
    if current is None:
        from sofp.errors import NotFound

        raise NotFound(f"Scenario {scenario.name!r} no longer exists.")
    scenario_refuse_frozen(current)


def _scenario_measure_problems(*, cells: Sequence[CellInput]) -> list[Problem]:
    """Actual sales are facts of a month, kept once: a scenario changes plan inputs only."""
    return [
        cell_problem(
            i,
            cell,
            "fact_in_scenario",
            "actual sales are facts, not part of a scenario; enter them in the plan",
            "measure",
        )
        for i, cell in enumerate(cells)
        if cell.measure in ACTUAL_MEASURES
    ]


# Plan writes whose actual sales come from the actuals store: nothing to send back.
FOLLOWS_THE_FACTS = frozenset({PlanValueChange.Source.ACTUALS, PlanValueChange.Source.ROLL_FORWARD})


def _actual_sales_mirror(rows: list[_Resolved], *, cycle: PlanningCycle, source: str) -> None:
    """Actual sales written through a plan (plan file, plan API, admin) are facts: they
    go to the actuals store too, which the accuracy and the box score read, and from
    there to the other open cycles (``open_plans_follow``). Rights and the month rule
    were checked by the plan path. Writes that copy the store itself send nothing back
    (``FOLLOWS_THE_FACTS``)."""
    from planning.services.actuals import ActualInput, actuals_upsert

    if source in FOLLOWS_THE_FACTS:
        return

    cells = [
        ActualInput(
            r.value_stream.code,
            r.family.code,
            r.key[2],
            "actual_sales",
            r.value,
        )
        for r in rows
        if r.key[3] == "actual_sales" and r.value_stream and r.family
    ]
    if cells:
        actuals_upsert(
            cells=cells, user=None, source=str(source), any_month=True, through_cycle=cycle.pk
        )


# ----------------------------------------------------------------- bulk writes
# Large imports write tens of thousands of cells. The ORM's bulk_create/bulk_update
# spend most of their time building and preparing a model instance per cell (and
# bulk_update builds one CASE per field), so the writes below are one parameterised
# statement each, run with ``executemany`` over plain tuples; values are adapted by the
# backend's own ``adapt_*`` functions, so the same code serves SQLite and PostgreSQL.
# (Many rows per statement measured slower on both: psycopg's client-side binding
# spends more CPU quoting a large statement than it saves in round trips.)


@dataclass(frozen=True, slots=True)
class _Change:
    """History of one cell, captured before the write (``old`` is the stored value)."""

    row: _Resolved
    plan_value_id: int | None  # None for a new cell (its id is known after the insert)
    old: Decimal | None
    new: Decimal | None
    version: int


def _table(model: type, fields: Sequence[str]) -> tuple[str, list[str]]:
    """The quoted table and column names of ``fields``."""
    qn = connection.ops.quote_name
    return qn(model._meta.db_table), [qn(model._meta.get_field(f).column) for f in fields]


def _execute_many(sql: str, params: list[tuple]) -> None:
    if not params:
        return
    with connection.cursor() as cursor:
        for i in range(0, len(params), 5000):
            cursor.executemany(sql, params[i : i + 5000])


def _copy(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """PostgreSQL's COPY: one stream of rows instead of a statement per row (about ten
    times faster for an import's tens of thousands of cells). The driver's cursor is
    used directly, so its errors are wrapped here as Django's (``IntegrityError``: a
    unique cell, or a history row's cycle, stream or family checked at the end of the
    statement)."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _insert(model: type, fields: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    table, columns = _table(model, fields)
    if connection.vendor == "postgresql":
        _copy(table, columns, rows)
        return
    marks = ", ".join(["%s"] * len(columns))
    _execute_many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class _Adapt:
    """Backend adaptation of dates, datetimes and decimals, memoised per distinct date."""

    def __init__(self) -> None:
        self.ops = connection.ops
        self.months: dict[dt.date, object] = {}

    def month(self, day: dt.date) -> object:
        if day not in self.months:
            self.months[day] = self.ops.adapt_datefield_value(day)
        return self.months[day]

    def decimal(self, value: Decimal | None) -> object:
        return None if value is None else self.ops.adapt_decimalfield_value(value, 20, 6)

    def datetime(self, value: dt.datetime) -> object:
        return self.ops.adapt_datetimefield_value(value)


_CELL_FIELDS = (*PlanValue.KEY_FIELDS, "value", "version", "comment", "updated_by", "updated_at")


def _insert_cells(
    *,
    cycle: PlanningCycle,
    scenario: Scenario | None,
    rows: list[_Resolved],
    uid: int | None,
    now: dt.datetime,
) -> dict[CellKey, int]:
    """INSERT new cells, then read their ids back (one query) so history can point at them."""
    if not rows:
        return {}
    adapt = _Adapt()
    stamp = adapt.datetime(now)
    rows_out = [
        (
            cycle.pk,
            r.key[0],
            r.key[1],
            adapt.month(r.key[2]),
            r.key[3],
            adapt.decimal(r.value),
            1,
            "",
            uid,
            stamp,
        )
        for r in rows
    ]
    if scenario is None:
        _insert(PlanValue, _CELL_FIELDS, rows_out)
    else:
        _insert(ScenarioCell, ("scenario", *_CELL_FIELDS), [(scenario.pk, *r) for r in rows_out])
    wanted = {r.key for r in rows}
    ids = (
        _cells_of(cycle, scenario)
        .filter(version=1)
        .filter(month__in={k[2] for k in wanted}, measure__in={k[3] for k in wanted})
        .filter(_stream_scope({k[0] for k in wanted}))
        .values_list("pk", "value_stream_id", "product_family_id", "month", "measure")
    )
    return {tuple(key): pk for pk, *key in ids if tuple(key) in wanted}


def _update_cells(
    cells: list[tuple[int, Decimal | None, int]], *, uid: int | None, now, model: type = PlanValue
) -> None:
    """``(pk, value, version)`` of changed cells (value None: cleared, a tombstone)."""
    if not cells:
        return
    table, (pk, value, version, user, at) = _table(
        model, ("id", "value", "version", "updated_by", "updated_at")
    )
    adapt = _Adapt()
    stamp = adapt.datetime(now)
    if connection.vendor == "postgresql":
        # COPY the new values into a scratch table, then one UPDATE … FROM joins them in.
        scratch = "sofp_cell_updates"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {scratch} (id bigint PRIMARY KEY, "
                "value numeric(20, 6), version integer) ON COMMIT DELETE ROWS"
            )
            _copy(scratch, ["id", "value", "version"], [(i, v, n) for i, v, n in cells])
            cursor.execute(
                f"UPDATE {table} SET {value} = u.value, {version} = u.version, {user} = %s, "
                f"{at} = %s FROM {scratch} u WHERE {table}.{pk} = u.id",
                [uid, stamp],
            )
            cursor.execute(f"DELETE FROM {scratch}")
        return
    _execute_many(
        f"UPDATE {table} SET {value} = %s, {version} = %s, {user} = %s, {at} = %s WHERE {pk} = %s",
        [(adapt.decimal(v), n, uid, stamp, id_) for id_, v, n in cells],
    )


_CHANGE_FIELDS = (
    "cycle",
    "plan_value",
    *PlanValue.KEY_FIELDS[1:],
    "old_value",
    "new_value",
    "version",
    "source",
    "changed_by",
    "changed_at",
    "scenario",
    "note",
)


def _insert_history(
    *,
    cycle: PlanningCycle,
    scenario: Scenario | None = None,
    changes: list[_Change],
    created: dict[CellKey, int],
    source: str,
    uid: int | None,
    now: dt.datetime,
    note: str = "",
) -> None:
    adapt = _Adapt()
    stamp = adapt.datetime(now)
    _insert(
        PlanValueChange,
        _CHANGE_FIELDS,
        [
            (
                cycle.pk,
                # A scenario's cell is not a plan value: its history names it by key.
                None if scenario is not None else c.plan_value_id or created.get(c.row.key),
                c.row.key[0],
                c.row.key[1],
                adapt.month(c.row.key[2]),
                c.row.key[3],
                adapt.decimal(c.old),
                adapt.decimal(c.new),
                c.version,
                source,
                uid,
                stamp,
                None if scenario is None else scenario.pk,
                note,
            )
            for c in changes
        ],
    )


MAX_COMMENT_LENGTH = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def comment_clean(text: object) -> str:
    """A cell's comment as stored: text only, no NUL or control characters (line breaks
    and tabs are fine), at most :data:`MAX_COMMENT_LENGTH` characters, one kind of line
    break, no surrounding blanks."""
    if not isinstance(text, str):
        raise ValidationFailed(
            "A comment must be text.",
            problems=[Problem("invalid", "a comment must be a string", field="comment")],
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL.search(text):
        raise ValidationFailed(
            "A comment cannot hold control characters.",
            problems=[
                Problem(
                    "control_character",
                    "a comment cannot hold NUL or other control characters",
                    field="comment",
                )
            ],
        )
    if len(text) > MAX_COMMENT_LENGTH:
        raise ValidationFailed(
            f"A comment has at most {MAX_COMMENT_LENGTH} characters.",
            problems=[
                Problem(
                    "too_long",
                    f"a comment has at most {MAX_COMMENT_LENGTH} characters (got {len(text)})",
                    field="comment",
                )
            ],
        )
    return text


def plan_value_comment_set(
    *,
    plan_value: PlanValue,
    text: object,
    user: AbstractBaseUser | None,
    version: int | None = None,
    source: str = PlanValueChange.Source.GRID,
) -> PlanValue:
    """Attach an assumption to a cell: same permission and freeze rules as its value.

    Versioned and audited like a value: a changed comment moves the cell's version on
    by one and is recorded in the cell's history (who, when, old → new comment); a
    ``version`` that is not the cell's current one is a conflict (409).
    """
    text = comment_clean(text)
    with transaction.atomic():
        cycle = PlanningCycle.objects.select_for_update().get(pk=plan_value.cycle_id)
        cycle_refuse_frozen(cycle)
        scenario_id = getattr(plan_value, "scenario_id", None)
        if scenario_id is not None:
            _scenario_refuse_gone(Scenario(pk=scenario_id, cycle=cycle, name=""))
        if user is not None and not user_can_edit_plan(
            user=user, value_stream=plan_value.value_stream, measure=plan_value.measure
        ):
            stream = plan_value.value_stream
            measure = plan_value.measure
            raise PermissionDenied(
                f"Not allowed: you may not change the company-wide {measure}"
                if stream is None
                else f"Not allowed: you may not change {measure} of value stream {stream.code!r}"
            )
        current = (
            type(plan_value)
            .objects.select_for_update(of=("self",))
            .select_related("updated_by", "value_stream", "product_family")
            .get(pk=plan_value.pk)
        )
        if version is not None and version != current.version:
            raise VersionConflict(
                "Someone else changed this in the meantime; nothing was saved.",
                conflicts=[
                    {
                        "index": 0,
                        "label": "comment",
                        "value_stream": current.value_stream.code if current.value_stream else "",
                        "product_family": (
                            current.product_family.code if current.product_family else ""
                        ),
                        "month": current.month.strftime("%Y-%m"),
                        "measure": current.measure,
                        "your_version": version,
                        "current_value": None if current.value is None else str(current.value),
                        "current_version": current.version,
                        "changed_by": current.updated_by.username if current.updated_by else None,
                        "changed_at": _utc_text(current.updated_at),
                    }
                ],
            )
        if current.comment == text:
            return current
        old = current.comment
        current.comment = text
        current.version += 1
        current.updated_by = user if getattr(user, "pk", None) else None
        current.save(update_fields=["comment", "version", "updated_by", "updated_at"])
        PlanValueChange.objects.create(
            cycle=cycle,
            scenario_id=scenario_id,
            plan_value=current if scenario_id is None else None,
            value_stream=current.value_stream,
            product_family=current.product_family,
            month=current.month,
            measure=current.measure,
            old_value=current.value,
            new_value=current.value,
            old_comment=old,
            new_comment=text,
            comment_changed=True,
            version=current.version,
            source=source,
            changed_by=current.updated_by,
        )
        return current
