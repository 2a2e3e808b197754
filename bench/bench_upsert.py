"""Benchmark ``plan_values_upsert`` itself, in-process, on SQLite or PostgreSQL.

Run from the repo root: ``python bench/bench_upsert.py``. Without ``DATABASE_URL`` it
migrates a throwaway SQLite file; with a PostgreSQL ``DATABASE_URL`` it creates and drops
a ``…_bench`` database beside the one named (``bench/harness.py``), so nothing of yours
is touched. A plan of 40 value streams x 25 families x 18 months (~39,000
cells) is written three times — first insert, the same values again, every value
changed — and a grid-sized save of 60 cells is repeated. Prints seconds (wall and CPU)
against the import target (5 s); it reports, it never fails.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from harness import bench_database, row  # noqa: E402

N_STREAMS, N_FAMILIES, HORIZON = 40, 25, 18
TARGET_S = 5.0


def _setup() -> None:
    bench_database("upsert")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sofp.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _master() -> None:
    """Value streams and families through the master-data service (as import_master)."""
    from valuestreams.imports import MasterRow
    from valuestreams.services import master_import

    rng = random.Random(4)
    master_import(
        rows=[
            MasterRow(
                line=2 + s * N_FAMILIES + f,
                value_stream=f"VS{s:03d}",
                value_stream_name=f"Stream {s}",
                product_family=f"VS{s:03d}-{f:03d}",
                family_name=f"Family {f}",
                unit_price=Decimal("100"),
                unit_material_cost=Decimal("40"),
                hours_per_unit=Decimal(str(round(rng.uniform(0.1, 2), 3))),
                dos_min=None,
                dos_max=None,
            )
            for s in range(N_STREAMS)
            for f in range(N_FAMILIES)
        ]
    )


def _cells(month: dt.date, *, bump: str = "") -> list:
    from planning.calendar import month_add
    from planning.services.plan_values import CellInput

    rng = random.Random(7)
    months = [month_add(month, i) for i in range(HORIZON)]
    cells = []
    for s in range(N_STREAMS):
        vs = f"VS{s:03d}"
        for f in range(N_FAMILIES):
            fam = f"{vs}-{f:03d}"
            cells.append(
                CellInput(
                    vs, fam, month, "opening_inventory", Decimal(f"{rng.randint(0, 900)}{bump}")
                )
            )
            for m in months:
                for measure in ("demand", "production"):
                    value = Decimal(f"{rng.randint(0, 1000)}{bump}")
                    cells.append(CellInput(vs, fam, m, measure, value))
        for m in months:
            for measure in ("available_hours", "non_productive_hours", "conversion_cost"):
                cells.append(
                    CellInput(vs, "", m, measure, Decimal(f"{rng.randint(500, 9000)}{bump}"))
                )
    for m in months:
        cells.append(CellInput("", "", m, "sustaining_cost", Decimal(f"250000{bump}")))
    return cells


def _timed(fn) -> tuple[float, float, object]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    _setup()
    from django.db import connection

    from planning.services.cycles import cycle_create
    from planning.services.plan_values import plan_values_upsert

    _master()
    month = dt.date(2027, 1, 1)
    cycle = cycle_create(month=month)
    first, changed = _cells(month), _cells(month, bump="1")
    print(
        f"{connection.vendor}: {N_STREAMS} streams x {N_FAMILIES} families x {HORIZON} "
        f"months: {len(first):,} cells",
        flush=True,
    )
    rows = []
    for name, cells in (
        ("first insert", first),
        ("same values", first),
        ("all changed", changed),
    ):
        wall, cpu, result = _timed(
            lambda cells=cells: plan_values_upsert(cycle=cycle, cells=cells, user=None)
        )
        rows.append((name, wall, cpu, result.as_dict()))
    grid = changed[:60]
    walls = []
    for i in range(20):
        cells = [c.__class__(**{**c.__dict__, "value": c.value + i + 1}) for c in grid]
        walls.append(
            _timed(lambda cells=cells: plan_values_upsert(cycle=cycle, cells=cells, user=None))[0]
        )
    for name, wall, cpu, counts in rows:
        row(
            f"plan_values_upsert 39k cells, {name}",
            wall,
            target=TARGET_S,
            unit="s",
            note=f"cpu {cpu:.2f} s {counts}",
        )
    row("plan_values_upsert of 60 cells (grid save)", [w * 1000 for w in walls])


if __name__ == "__main__":
    main()
