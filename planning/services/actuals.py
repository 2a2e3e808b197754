"""Writing actuals: the one path the Month close page, the grid's actual rows, the plan
files' ``actual_sales``, ``import_actuals`` and the API go through.

Actuals are facts of a month, kept once (not per cycle, so no cycle is frozen for them):
every cell is checked (codes, scope, month up to the current one, sign, duplicates,
rights) before anything is written; stale versions are refused; every change is kept in
``ActualChange``. Problems name the cell's line and column (files) or index (API, page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from planning.measures import ACTUAL_SCOPE, VALUE_QUANTUM, value_problems
from planning.models import Actual, ActualChange
from planning.selectors.actuals import actual_rights, current_month
from planning.services.write_counts import WriteCounts
from sofp.errors import (
    PermissionDenied,
    Problem,
    ValidationFailed,
    VersionConflict,
    problems_sorted,
)
from valuestreams.models import ProductFamily, ValueStream

ActualKey = tuple[int, int | None, dt.date, str]


@dataclass(frozen=True)
class ActualInput:
    """One actual to write; ``value=None`` clears it; ``version`` is what the writer saw
    (0 = empty). ``line``/``column`` place it in a file, else its index names it."""

    value_stream: str
    product_family: str
    month: dt.date
    measure: str
    value: Decimal | None
    version: int | None = None
    line: int | None = None
    column: str = ""


@dataclass
class ActualsResult(WriteCounts):
    """What ``actuals_upsert`` did: the counts and what each input holds now."""

    # (value, version) each input holds afterwards, in input order.
    stored: list[tuple[Decimal | None, int]] = field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in self.as_dict().items())


@dataclass(frozen=True, slots=True)
class _Row:
    i: int
    cell: ActualInput
    key: ActualKey
    stream: ValueStream
    family: ProductFamily | None
    value: Decimal | None


def _problem(i: int, cell: ActualInput, code: str, message: str, fld: str | None) -> Problem:
    return Problem(
        code,
        message,
        index=None if cell.line is not None else i,
        line=cell.line,
        column=cell.column or fld if cell.line is not None else None,
        field=fld,
        value_stream=cell.value_stream or None,
        product_family=cell.product_family or None,
        month=cell.month.strftime("%Y-%m") if isinstance(cell.month, dt.date) else None,
        measure=cell.measure or None,
    )


def _resolve(cells: Sequence[ActualInput], *, today_month: dt.date | None) -> list[_Row]:
    """Map codes to rows and check every cell; raise with all problems, not the first."""
    streams = {
        vs.code: vs for vs in ValueStream.objects.filter(code__in={c.value_stream for c in cells})
    }
    families = {
        f.code: f
        for f in ProductFamily.objects.filter(
            code__in={c.product_family for c in cells if c.product_family}
        ).select_related("value_stream")
    }
    problems: list[Problem] = []
    rows: list[_Row] = []
    seen: dict[ActualKey, int] = {}
    for i, c in enumerate(cells):
        found: list[tuple[str, str, str | None]] = []
        scope = ACTUAL_SCOPE.get(c.measure)
        if scope is None:
            found.append(("unknown_measure", f"unknown actual measure {c.measure!r}", "measure"))
        fam = families.get(c.product_family) if c.product_family else None
        vs = streams.get(c.value_stream) if c.value_stream else None
        if c.product_family and fam is None:
            found.append(
                (
                    "unknown_product_family",
                    f"unknown product family {c.product_family!r}",
                    "product_family",
                )
            )
        if c.value_stream and vs is None:
            found.append(
                ("unknown_value_stream", f"unknown value stream {c.value_stream!r}", "value_stream")
            )
        if not c.value_stream:
            found.append(
                (
                    "needs_value_stream",
                    f"measure {c.measure!r} needs a value stream",
                    "value_stream",
                )
            )
        if scope == "family" and not c.product_family:
            found.append(
                (
                    "needs_product_family",
                    f"measure {c.measure!r} needs a product family",
                    "product_family",
                )
            )
        if scope == "stream" and c.product_family:
            found.append(
                (
                    "takes_no_product_family",
                    f"measure {c.measure!r} takes no product family",
                    "product_family",
                )
            )
        if fam is not None and vs is not None and fam.value_stream_id != vs.pk:
            found.append(
                (
                    "family_in_other_stream",
                    f"product family {fam.code!r} belongs to value stream "
                    f"{fam.value_stream.code!r}, not {vs.code!r}",
                    "product_family",
                )
            )
        if not isinstance(c.month, dt.date) or c.month.day != 1:
            found.append(("bad_month", "month must be the first day of a month", "month"))
        elif today_month is not None and c.month > today_month:
            found.append(
                (
                    "future_month",
                    f"month {c.month:%Y-%m} has not started; actuals go up to {today_month:%Y-%m}",
                    "month",
                )
            )
        v = c.value
        found += value_problems(c.measure, v)
        key: ActualKey | None = None
        if not found and vs is not None:
            key = (vs.pk, fam.pk if fam else None, c.month, c.measure)
            if key in seen:
                j = seen[key]
                where = f"line {cells[j].line}" if cells[j].line is not None else f"row {j}"
                found.append(("duplicate", f"duplicate of {where}", None))
        if found:
            problems += [_problem(i, c, *f) for f in found]
            continue
        assert key is not None and vs is not None
        seen[key] = i
        value = None if v is None else v.quantize(VALUE_QUANTUM)
        rows.append(_Row(i, c, key, vs, fam, value))
    if problems:
        raise ValidationFailed(
            f"{len(problems)} problem(s) found; nothing was saved.", problems=problems
        )
    return rows


def _check_rights(user, rows: list[_Row]) -> None:
    rights = actual_rights(user=user)
    problems: list[Problem] = []
    denied: set[tuple[int, str]] = set()
    for r in rows:
        stream_id, measure = r.key[0], r.key[3]
        if rights.may_edit(value_stream_id=stream_id, measure=measure):
            continue
        if (stream_id, measure) in denied:
            continue
        denied.add((stream_id, measure))
        problems.append(
            _problem(
                r.i,
                r.cell,
                "forbidden",
                f"you may not change {measure} of value stream {r.stream.code!r}",
                "value_stream",
            )
        )
    if problems:
        raise PermissionDenied(
            "Not allowed: " + "; ".join(p.text for p in problems[:20]), problems=problems
        )


def _existing(rows: list[_Row]) -> dict[ActualKey, Actual]:
    if not rows:
        return {}
    months = {r.key[2] for r in rows}
    streams = {r.key[0] for r in rows}
    measures = {r.key[3] for r in rows}
    qs = (
        Actual.objects.filter(value_stream_id__in=streams, month__in=months, measure__in=measures)
        .order_by("pk")
        .select_for_update()
    )  # Meta.ordering would join (outer) families
    return {(a.value_stream_id, a.product_family_id, a.month, a.measure): a for a in qs}


def _change(
    key: ActualKey,
    actual: Actual | None,
    old: Decimal | None,
    new: Decimal | None,
    version: int,
    *,
    source: str,
    uid: int | None,
) -> ActualChange:
    """The history row of one cell's change (added, changed or cleared)."""
    stream_id, family_id, month, measure = key
    return ActualChange(
        actual=actual,
        value_stream_id=stream_id,
        product_family_id=family_id,
        month=month,
        measure=measure,
        old_value=old,
        new_value=new,
        version=version,
        source=source,
        changed_by_id=uid,
    )


def actuals_upsert(
    *,
    cells: Iterable[ActualInput],
    user,
    source: str = "page",
    check_versions: bool = False,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    any_month: bool = False,
    through_cycle: int | None = None,
) -> ActualsResult:
    """Validate and write ``cells`` atomically; nothing is written if anything is wrong.

    Raises ValidationFailed (every bad cell), PermissionDenied (a stream/measure the
    user may not change) or VersionConflict (a stale ``version``). ``user=None`` is a
    trusted system path. Writing the same values again changes nothing. Months after
    the current one are refused unless ``any_month`` (the plan path's own mirror, whose
    month rule is the plan's).

    The ``actual_sales`` written reach every open cycle's plan in the same transaction
    (:func:`open_plans_follow`); ``through_cycle`` is the cycle whose plan write brought
    them here (its cells hold them already).
    """
    cells = list(cells)
    rows = _resolve(cells, today_month=None if any_month else current_month(now))
    _check_rights(user, rows)
    uid = getattr(user, "pk", None)
    try:
        with transaction.atomic():
            existing = _existing(rows)
            if check_versions:
                conflicts = [
                    {
                        "index": r.i,
                        "value_stream": r.stream.code,
                        "product_family": r.family.code if r.family else None,
                        "month": f"{r.key[2]:%Y-%m}",
                        "measure": r.key[3],
                        "current_value": (
                            str(existing[r.key].value) if r.key in existing else None
                        ),
                        "current_version": existing[r.key].version if r.key in existing else 0,
                    }
                    for r in rows
                    if r.cell.version is not None
                    and (existing[r.key].version if r.key in existing else 0) != r.cell.version
                ]
                if conflicts:
                    raise VersionConflict(
                        "Someone else changed these actuals in the meantime; nothing was saved.",
                        conflicts=conflicts,
                    )
            result = ActualsResult(stored=[(None, 0)] * len(cells))
            history: list[ActualChange] = []
            stamp = timezone.now()
            for r in rows:
                cur = existing.get(r.key)
                stream_id, family_id, month, measure = r.key
                if r.value is None:
                    if cur is None:
                        result.unchanged += 1
                        continue
                    result.deleted += 1
                    history.append(
                        _change(
                            r.key, None, cur.value, None, cur.version + 1, source=source, uid=uid
                        )
                    )
                    if not dry_run:
                        cur.delete()
                elif cur is None:
                    result.added += 1
                    result.stored[r.i] = (r.value, 1)
                    actual = Actual(
                        value_stream_id=stream_id,
                        product_family_id=family_id,
                        month=month,
                        measure=measure,
                        value=r.value,
                        version=1,
                        updated_by_id=uid,
                    )
                    if not dry_run:
                        actual.save()
                    history.append(
                        _change(
                            r.key,
                            actual if not dry_run else None,
                            None,
                            r.value,
                            1,
                            source=source,
                            uid=uid,
                        )
                    )
                elif cur.value != r.value:
                    result.changed += 1
                    old = cur.value
                    cur.value, cur.version, cur.updated_by_id = r.value, cur.version + 1, uid
                    result.stored[r.i] = (cur.value, cur.version)
                    if not dry_run:
                        cur.save(update_fields=["value", "version", "updated_by", "updated_at"])
                    history.append(
                        _change(r.key, cur, old, r.value, cur.version, source=source, uid=uid)
                    )
                else:
                    result.unchanged += 1
                    result.stored[r.i] = (cur.value, cur.version)
            if dry_run:
                transaction.set_rollback(True)
                return result
            for h in history:
                h.changed_at = stamp
            ActualChange.objects.bulk_create(history, batch_size=500)
            open_plans_follow(
                [
                    (r.stream, r.family, r.key[2], r.value)
                    for r in rows
                    if r.key[3] == "actual_sales" and r.family is not None
                ],
                user=user,
                source=source,
                skip_cycle=through_cycle,
            )
            return result
    except IntegrityError as exc:  # another writer created one of these cells first
        raise VersionConflict(
            "Someone else entered these actuals in the meantime; nothing was saved.",
            conflicts=[],
        ) from exc


def open_plans_follow(
    facts: Sequence[tuple[ValueStream, ProductFamily, dt.date, Decimal | None]],
    *,
    user,
    source: str,
    skip_cycle: int | None = None,
) -> None:
    """Make every cycle that is not frozen hold these ``actual_sales`` facts (value, or
    None: cleared) in its plan cells, for the months its plan keeps them (the 12 before
    it and its horizon): the one rule that lets the export, the projection, the grid and
    the plan-values API of an open cycle show a fact whichever path entered it, with
    versions that grow, a history entry per change (source ``actuals``, naming the
    writer) and the API's ``updated_at``/ETag moving with it. An approved cycle keeps
    the copy it was approved with (frozen means frozen): one approved while this runs
    refuses the write and is left alone. Families and streams that are inactive are out
    of every plan. A few queries per open cycle, none per fact.
    """
    from planning.calendar import month_add
    from planning.measures import ACTUALS_HISTORY_MONTHS
    from planning.models import CycleStatus, PlanningCycle
    from planning.services.plan_values import CellInput
    from sofp.errors import FrozenCycleError

    facts = [f for f in facts if f[0].active and f[1].active]
    if not facts:
        return
    months = [f[2] for f in facts]
    cycles = (
        PlanningCycle.objects.exclude(status=CycleStatus.APPROVED)
        .exclude(pk=skip_cycle)
        .filter(month__lte=month_add(max(months), ACTUALS_HISTORY_MONTHS))
        .order_by("pk")
    )
    for cycle in cycles:
        first, last = _sales_window(cycle)
        cells = [
            CellInput(vs.code, fam.code, month, "actual_sales", value)
            for vs, fam, month, value in facts
            if first <= month <= last
        ]
        try:
            _plan_follow(cycle, cells, user=user, source=source)
        except FrozenCycleError:
            continue  # approved meanwhile: it keeps what it was approved with


def _sales_window(cycle) -> tuple[dt.date, dt.date]:
    """The months a cycle's plan keeps actual sales for: the 12 before it and its horizon."""
    from planning.calendar import month_add
    from planning.measures import ACTUALS_HISTORY_MONTHS

    return (
        month_add(cycle.month, -ACTUALS_HISTORY_MONTHS),
        month_add(cycle.month, cycle.horizon - 1),
    )


def _plan_follow(cycle, cells: list, *, user, source: str) -> None:
    """Write facts into one open plan (history source ``actuals``, naming the writer)."""
    from planning.models import PlanValueChange
    from planning.services.plan_values import plan_values_upsert

    if cells:
        plan_values_upsert(
            cycle=cycle,
            cells=cells,
            user=None,
            recorded_by=user,
            source=PlanValueChange.Source.ACTUALS,
            note=f"actual sales entered ({source})",
        )


def plan_actual_sales_fill(*, cycle, user=None) -> None:
    """A new cycle's plan starts with the ``actual_sales`` facts of its window (one
    query, one write): what :func:`open_plans_follow` keeps it equal to afterwards."""
    from planning.services.plan_values import CellInput

    first, last = _sales_window(cycle)
    facts = Actual.objects.filter(
        measure="actual_sales",
        month__gte=first,
        month__lte=last,
        value_stream__active=True,
        product_family__active=True,
    ).values_list("value_stream__code", "product_family__code", "month", "value")
    cells = [CellInput(vs, fam, month, "actual_sales", value) for vs, fam, month, value in facts]
    _plan_follow(cycle, cells, user=user, source="new cycle")


def actuals_import(
    *, rows: Sequence, user, parse_errors: Sequence[Problem] = (), dry_run: bool = False
) -> ActualsResult:
    """Write a parsed actuals file (``planning.imports.parse_actuals``) all or nothing:
    every problem of the file — the reader's and the service's — by line and column."""
    cells = [
        ActualInput(r.value_stream, r.product_family, r.month, r.measure, r.value, line=r.line)
        for r in rows
    ]
    if parse_errors:
        problems = list(parse_errors)
        # The reader keeps a line with an unreadable cell (that cell None) so that its
        # other cells are checked too; the reader's word on that cell stands.
        said = {(p.line, p.column) for p in problems}
        try:
            actuals_upsert(cells=cells, user=user, source="import", dry_run=True)
        except (ValidationFailed, PermissionDenied) as exc:
            problems += [p for p in exc.problems if (p.line, p.column) not in said]
        problems = problems_sorted(problems)
        raise ValidationFailed(
            f"{len(problems)} problem(s) found; nothing was saved.", problems=problems
        )
    return actuals_upsert(cells=cells, user=user, source="import", dry_run=dry_run)
