"""The live grid: others' saved edits since a cursor, and who else has the grid open.

Polling, not websockets: the grid asks every few seconds for the plan changes after the
newest change id it knows (ids only grow) and gets each changed cell's new value and
version, the engine's computed rows when anything changed, and who else is looking.
Presence is a small dict in the cache per grid with a time per user; entries older than
:data:`PRESENCE_SECONDS` are dropped, so a closed tab disappears by itself.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

from planning.engine import number_or_none
from planning.models import PlanningCycle, cycle_scenario
from planning.selectors.grid import (
    OPENING_FIELD,
    _stored_field,
    _who,
    grid_computed_rows,
    row_id,
)
from planning.selectors.grid_inputs import fact_change_cursor, plan_change_cursor
from valuestreams.models import ValueStream

PRESENCE_SECONDS = 20
MAX_CHANGES = 2000
# What a change row (plan or fact) tells the grid: id, cell, new value, version, who, when.
CHANGE_COLUMNS = (
    "pk",
    "product_family__code",
    "month",
    "measure",
    "new_value",
    "version",
    "changed_by__username",
    "changed_at",
)


def _changed_cell(
    rid: str, field: str, new: Decimal | None, version: int, who: str | None, at: dt.datetime
) -> dict:
    """One changed cell as the grid takes it (a cleared cell: no value, version 0)."""
    return {
        "row": rid,
        "field": field,
        "value": number_or_none(new),
        "version": version if new is not None else 0,
        "by": who or "system",
        "changed": _who(who, at),
    }


def grid_cursor(*, cycle: PlanningCycle) -> int:
    """The newest change id of the cycle (where a fresh grid starts listening)."""
    from planning.selectors.plans import cycle_value_changes

    if cycle_scenario(cycle) is None:
        return plan_change_cursor(cycle)
    last = cycle_value_changes(cycle).order_by("-pk").values_list("pk", flat=True)
    return int(last.first() or 0)


def grid_actual_cursor() -> int:
    """The newest change id of the facts (the grid's actual rows listen from there)."""
    return fact_change_cursor()


def _actual_changes_since(
    *, cycle: PlanningCycle, value_stream: ValueStream, after: int, cells: dict
) -> int:
    """The grid's actual rows changed after fact change id ``after`` (whatever path wrote
    them); adds them to ``cells`` and returns the new cursor."""
    from planning.calendar import month_add
    from planning.measures import ACTUALS_HISTORY_MONTHS
    from planning.models import ActualChange
    from planning.selectors.actuals import GRID_ACTUAL_MEASURES

    latest = grid_actual_cursor()  # before the read: nothing committed later is skipped
    rows = list(
        ActualChange.objects.filter(
            pk__gt=after,
            value_stream=value_stream,
            product_family__isnull=False,
            measure__in=GRID_ACTUAL_MEASURES,
            month__gte=month_add(cycle.month, -ACTUALS_HISTORY_MONTHS),
            month__lte=month_add(cycle.month, cycle.horizon - 1),
        )
        .order_by("pk")
        .values_list(*CHANGE_COLUMNS)[:MAX_CHANGES]
    )
    cursor = after
    for pk, fam, month, measure, new, version, who, at in rows:
        cursor = pk
        rid, field = row_id(fam, measure), _stored_field(month, measure, cycle)
        cells[(rid, field)] = _changed_cell(rid, field, new, version, who, at)
    if not rows:  # nothing here; move on past others' streams' facts
        cursor = max(after, latest)
    return cursor


def grid_changes_since(
    *,
    cycle: PlanningCycle,
    value_stream: ValueStream | None,
    after: int,
    after_actual: int | None = None,
) -> dict:
    """Cells of this grid changed after change id ``after`` (the newest state of each),
    and of its actual rows after fact change id ``after_actual`` (None: from now)."""
    from planning.selectors.plans import cycle_value_changes

    qs = cycle_value_changes(cycle).filter(pk__gt=after)
    qs = (
        qs.filter(value_stream__isnull=True)
        if value_stream is None
        else qs.filter(value_stream=value_stream)
    )
    rows = list(qs.order_by("pk").values_list(*CHANGE_COLUMNS)[:MAX_CHANGES])
    cells: dict[tuple[str, str], dict] = {}
    cursor = after
    for pk, fam, month, measure, new, version, who, at in rows:
        cursor = pk
        if measure == "opening_inventory":
            rid, field = row_id(fam or "", "ending_inventory"), OPENING_FIELD
        else:
            rid, field = row_id(fam or "", measure), _stored_field(month, measure, cycle)
        cells[(rid, field)] = _changed_cell(rid, field, new, version, who, at)
    actual_cursor = grid_actual_cursor() if after_actual is None else after_actual
    if value_stream is not None and after_actual is not None:
        actual_cursor = _actual_changes_since(
            cycle=cycle, value_stream=value_stream, after=after_actual, cells=cells
        )
    computed = grid_computed_rows(cycle=cycle, value_stream=value_stream) if cells else []
    return {
        "cursor": cursor,
        "actual_cursor": actual_cursor,
        "cells": list(cells.values()),
        "computed": computed,
    }


def _presence_key(cycle: PlanningCycle, value_stream: ValueStream | None) -> str:
    scope = value_stream.code if value_stream is not None else "company"
    scenario = cycle_scenario(cycle)
    if scenario is not None:
        scope += f":{scenario.pk}"
    return f"sofp:presence:{cycle.pk}:{scope}"


def grid_presence(
    *, cycle: PlanningCycle, value_stream: ValueStream | None, user: AbstractBaseUser
) -> list[str]:
    """Note that ``user`` has this grid open now; return who else has (names, sorted)."""
    key = _presence_key(cycle, value_stream)
    now = time.time()
    seen: dict[str, tuple[float, str]] = cache.get(key) or {}
    seen = {u: v for u, v in seen.items() if now - v[0] < PRESENCE_SECONDS}
    seen[str(user.pk)] = (now, user.get_full_name() or user.get_username())
    cache.set(key, seen, timeout=PRESENCE_SECONDS * 3)
    return sorted(name for uid, (_, name) in seen.items() if uid != str(user.pk))
