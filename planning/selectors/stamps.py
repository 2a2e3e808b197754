"""Stamps: one cheap query that moves whenever a set of tables changes.

A page part reused under a stamp (``selectors.plans._reuse``) is what a fresh
computation would give: the stamp holds, per table the part reads, aggregates that move
with every insert, update or delete (count, sum of versions, newest ``updated_at``, a
sum of values for a raw update that touched neither, weighted checksums of rows without
a timestamp) — as ``selectors.board_pack.board_pack_fingerprint`` does for the pack.
Approved cycles' plans are frozen on every path, so the approved cycles and when they
were approved stand for their values.
"""

from __future__ import annotations

from functools import cache

from django.db import connection


def _flag(col: str) -> str:
    return f"CASE WHEN {col} THEN 1 ELSE 0 END"


@cache
def _facts_sql() -> str:
    """What the closed months' box score reads (``selectors.actuals.closed_month_block``):
    the facts, the frozen lag-1 plans, every cycle's master copy (prices of a month come
    from its cycle, open or not), the live master (cycles without a copy), the streams,
    launches (on-time launch, development hours) and the company's currency."""
    from planning import models as m
    from valuestreams import models as v

    def t(model) -> str:
        return model._meta.db_table

    cycle, family, stream = t(m.PlanningCycle), t(v.ProductFamily), t(v.ValueStream)
    subqueries = [
        f"SELECT COUNT(*) FROM {t(m.Actual)}",
        f"SELECT SUM(version) FROM {t(m.Actual)}",
        f"SELECT MAX(updated_at) FROM {t(m.Actual)}",
        f"SELECT SUM(value) FROM {t(m.Actual)}",
        # Approved cycles (their plans are frozen), and every cycle (a month's prices).
        f"SELECT COUNT(*) FROM {cycle} WHERE status = 'approved'",
        f"SELECT SUM(id) FROM {cycle} WHERE status = 'approved'",
        f"SELECT MAX(approved_at) FROM {cycle}",
        f"SELECT COUNT(*) FROM {cycle}",
        f"SELECT SUM(id) FROM {cycle}",
        f"SELECT COUNT(*) FROM {t(m.CycleFamily)}",
        f"SELECT SUM(id * (unit_price + 3 * unit_material_cost + 7 * hours_per_unit"
        f" + 11 * dos_min + 13 * dos_max + 17 * {_flag('active')} + 19 * value_stream_id"
        f" + 23 * product_family_id + 29 * cycle_id))"
        f" FROM {t(m.CycleFamily)}",
        f"SELECT SUM(id * (unit_price + 3 * unit_material_cost + 7 * hours_per_unit"
        f" + 11 * {_flag('active')} + 13 * value_stream_id + 17 * LENGTH(code)))"
        f" FROM {family}",
        f"SELECT COUNT(*) FROM {family}",
        f"SELECT SUM(id * (LENGTH(code) + 7 * {_flag('active')} + 13 * COALESCE(headcount, 0)))"
        f" FROM {stream}",
        f"SELECT COUNT(*) FROM {stream}",
        f"SELECT COUNT(*) FROM {t(m.Launch)}",
        f"SELECT SUM(version) FROM {t(m.Launch)}",
        f"SELECT MAX(updated_at) FROM {t(m.Launch)}",
        f"SELECT SUM(id) FROM {t(m.Launch)}",
        f"SELECT MAX(currency) FROM {t(m.Company)}",
    ]
    return "SELECT " + ", ".join(f"({q})" for q in subqueries)


def facts_stamp() -> tuple:
    """Moves with any change to what the closed months' box score reads (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_facts_sql())
        row = cursor.fetchone()
    return ("facts", connection.alias, *(str(x) for x in row))
