"""Stamps: one cheap query that moves whenever a set of tables changes.

A page part reused under a stamp (``selectors.plans._reuse``) is what a fresh
computation would give: the stamp holds, per table the part reads, aggregates that move
with every insert, update or delete (count, sum of versions, newest ``updated_at``, a
sum of values for a raw update that touched neither; for tables without versions, the
master copies and the small ones, every column of every row) — the board pack's cache
uses it too (``selectors.board_pack.board_pack_fingerprint``).
Approved cycles' plans are frozen on every path, so the approved cycles and when they
were approved stand for their values.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cache
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def _aggregates(table: str, *exprs: str, where: str = "") -> str:
    """One scan of ``table``: its aggregates joined as one text (``~`` for NULL)."""
    text = " || ':' || ".join(f"COALESCE(CAST({e} AS TEXT), '~')" for e in exprs)
    return f"SELECT {text} FROM {table}" + (f" WHERE {where}" if where else "")


def _versioned(table: str, where: str = "", *, comment: bool = False) -> str:
    """Rows with a version and ``updated_at``: inserts and deletes move the count and
    the id sum, updates the version sum and the newest time, raw updates the values."""
    extra = ("SUM(LENGTH(comment))",) if comment else ()
    return _aggregates(
        table,
        "COUNT(*)",
        "SUM(id)",
        "SUM(version)",
        "MAX(updated_at)",
        "SUM(value)",
        *extra,
        where=where,
    )


def _facts_parts(vendor: str) -> list[str]:
    """What the closed months' box score reads (``selectors.actuals.closed_month_block``):
    the facts, the approved cycles (their plans are frozen) and every cycle (a month's
    prices come from its cycle, open or not), every master copy, the live master
    (cycles without a copy), the streams, launches (on-time launch, development hours)
    and the company's currency."""
    from planning import models as m
    from valuestreams import models as v

    def t(model) -> str:
        return model._meta.db_table

    return [
        _versioned(t(m.Actual)),
        _rows_digest_sql(vendor, m.PlanningCycle),
        # Every column of every copy: a weighted sum of the numbers missed edits that
        # cancel out (a price up by 3 and its material cost down by 1, in one write).
        _rows_digest_sql(vendor, m.CycleFamily),
        _rows_digest_sql(vendor, v.ProductFamily),
        _rows_digest_sql(vendor, v.ValueStream),
        _rows_digest_sql(vendor, m.Launch),
        _rows_digest_sql(vendor, m.Company),
    ]


@cache
def _facts_sql(vendor: str) -> str:
    return "SELECT " + ", ".join(f"({q})" for q in _facts_parts(vendor))


def facts_stamp() -> tuple:
    """Moves with any change to what the closed months' box score reads (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_facts_sql(connection.vendor))
        row = cursor.fetchone()
    return ("facts", connection.alias, *(str(x) for x in row))


def _rows_digest_sql(
    vendor: str, model, where: str = "", columns: Sequence[str] | None = None
) -> str:
    """Every row of a small table, every column, as one text ordered by id (PostgreSQL
    hands back its MD5, SQLite the text): catches any change, ``QuerySet.update`` and
    rows without a timestamp or version included."""
    table = model._meta.db_table
    columns = columns or [f.column for f in model._meta.concrete_fields]
    if vendor == "postgresql":
        row = ", ".join(f"COALESCE({c}::text, '~')" for c in columns)
        digest = f"md5(string_agg(concat_ws(':', {row}), ',' ORDER BY id))"
        return f"SELECT {digest} FROM {table}" + (f" WHERE {where}" if where else "")
    row = " || ':' || ".join(f"IFNULL({c}, '~')" for c in columns)
    inner = f"SELECT {row} AS r FROM {table}" + (f" WHERE {where}" if where else "")
    return f"SELECT group_concat(r, ',') FROM ({inner} ORDER BY id)"


@cache
def _review_sql(vendor: str) -> str:
    """What the step-5 review and the stream dashboard of a cycle read: this cycle's
    plan, scenarios, assumptions, acknowledgements and steps; every decision, the users
    (owners, approvers, acknowledgers), every cycle's stream copy, the company's
    settings, and all the closed months' reads (:func:`_facts_parts`). One scan per
    table (its aggregates joined as one text)."""
    from django.contrib.auth import get_user_model

    from planning import models as m

    def t(model) -> str:
        return model._meta.db_table

    this = "cycle_id = %(cycle)s"
    parts = [
        _versioned(t(m.PlanValue), this, comment=True),
        _versioned(t(m.ScenarioCell), this, comment=True),
        _rows_digest_sql(vendor, m.Scenario, this),
        _rows_digest_sql(vendor, m.Assumption, this),
        _rows_digest_sql(vendor, m.ExceptionAcknowledgement, this),
        _rows_digest_sql(vendor, m.CycleStep, this),
        _rows_digest_sql(vendor, m.Decision),
        _rows_digest_sql(vendor, m.CycleValueStream),
        # Names as pages show them (not a sign-in's ``last_login``).
        _rows_digest_sql(
            vendor,
            get_user_model(),
            columns=["id", "username", "first_name", "last_name", "is_active"],
        ),
        *_facts_parts(vendor),
    ]
    return "SELECT " + ", ".join(f"({q})" for q in parts)


def review_stamp(cycle) -> tuple:
    """Moves with any change to what the review of ``cycle`` reads (one query), and
    with the company's day (the month the closed-month block reports)."""
    from django.utils import timezone

    from planning.selectors.cycles import company_zone

    with connection.cursor() as cursor:
        cursor.execute(_review_sql(connection.vendor), {"cycle": cycle.pk})
        row = cursor.fetchone()
    today = timezone.now().astimezone(company_zone()).date()
    return ("review", connection.alias, cycle.pk, today, *(str(x) for x in row))


# The review stamp's parts of the cycle's plan values (``PlanValue``, ``ScenarioCell``):
# right after ("review", alias, cycle, today), first of the parts (see ``_review_sql``).
_PLAN_PARTS = slice(4, 6)


def plan_of(stamp: tuple) -> tuple:
    """The cycle's plan values' part of a :func:`review_stamp` (its cells and its
    scenarios' cells): what a planner's save moves."""
    return stamp[_PLAN_PARTS]


def rest_of(stamp: tuple) -> tuple:
    """A :func:`review_stamp` without its plan values' part (:func:`plan_of`): it moves
    with every other table the review reads (steps, decisions, users, acknowledgements,
    assumptions, the stream copies, the facts and the master data) and the company's
    day, not with a save in the plan. Parts of the review and the stream dashboard that
    read none of the plan's values are kept under it, so a save leaves them."""
    return ("review", *stamp[1 : _PLAN_PARTS.start], *stamp[_PLAN_PARTS.stop :])


@cache
def _facts_count(vendor: str) -> int:
    return len(_facts_parts(vendor))


def facts_of(stamp: tuple) -> tuple:
    """The facts' part of a :func:`review_stamp`: what :func:`facts_stamp` gives at the
    same moment, without its query (the review's stamp reads every table the facts'
    stamp reads, the same way, last). Parts that read facts only — accuracy, forecast
    value added, the closed-month block — are keyed by it on the review and the stream
    dashboard, so a save in the open plan leaves them and nothing is read to know."""
    return ("facts", stamp[1], *stamp[len(stamp) - _facts_count(connection.vendor) :])


# Whole page parts (the review's, the dashboards', the closed-month block) reused under a
# stamp: their own small store, so they never push the projections out of
# ``selectors.plans._reuse``'s. A part holds its projections: when a newer stamp of the
# same kind and cycle comes, the parts under older ones are dropped at once (they can
# never be hit again), so memory holds the live parts only, not up to the store's size
# of superseded ones.
_PARTS_KEPT = 16
_parts: OrderedDict[tuple, object] = OrderedDict()
_parts_lock = threading.Lock()


def reuse_part(key: tuple, compute: Callable[[], T]) -> T:
    """``compute()``'s result, kept under ``key``: (kind, stamp, the part's arguments…),
    the stamp from :func:`review_stamp` or :func:`facts_stamp`."""
    with _parts_lock:
        if key in _parts:
            _parts.move_to_end(key)
            return _parts[key]  # type: ignore[return-value]
    result = compute()
    stamp = key[1]
    with _parts_lock:
        for old in [k for k in _parts if _scope(k) == _scope(key) and k[1] != stamp]:
            del _parts[old]
        _parts[key] = result
        while len(_parts) > _PARTS_KEPT:
            _parts.popitem(last=False)
    return result


def _scope(key: tuple) -> tuple:
    """A part's kind and what its stamp is of: a cycle's review stamp, or the facts."""
    stamp = key[1]
    return (key[0], stamp[:3] if stamp[0] == "review" else stamp[:2])


def parts_forget() -> None:
    """Drop every reused page part (tests that count a cold request's queries)."""
    with _parts_lock:
        _parts.clear()
