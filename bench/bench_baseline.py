"""Benchmark the statistical baseline: 1,000 families x 48 months of sales history.

Run from the repo root: ``python bench/bench_baseline.py``. Builds 10 value streams of
100 families, each with 48 months of ``actual_sales`` (seasonal, trending, level and
intermittent series), then times ``baseline_compute`` — what ``python manage.py
forecast_baseline --cycle YYYY-MM`` runs: read the history, fit and choose per family on
every core, write 18 months per family through the write path and the fit rows. Target
(issue 17): at most 30 s beyond Django's start on 2 cores. SQLite, or PostgreSQL when
``DATABASE_URL`` names one (``bench/harness.py``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))
from harness import bench_database, row  # noqa: E402

bench_database("baseline")
os.environ.update({"DJANGO_SETTINGS_MODULE": "sofp.settings", "LOG_LEVEL": "ERROR"})

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402

STREAMS, FAMILIES_PER_STREAM, HISTORY = 10, 100, 48
TARGET_S = 30.0
CYCLE = dt.date(2027, 1, 1)


def _month(i: int) -> dt.date:
    y, m = divmod(CYCLE.month - 1 + i, 12)
    return dt.date(CYCLE.year + y, m + 1, 1)


def _series(rng: np.random.Generator, k: int) -> np.ndarray:
    t = np.arange(HISTORY)
    kind = k % 10
    if kind < 6:  # seasonal, some with a trend
        y = 200 + (kind % 3) * t + 50 * np.sin(2 * np.pi * t / 12 + k) + rng.normal(0, 15, HISTORY)
    elif kind < 9:  # level
        y = 120 + rng.normal(0, 20, HISTORY)
    else:  # intermittent
        y = (rng.random(HISTORY) < 0.3) * rng.poisson(10, HISTORY)
    return np.maximum(y, 0).round()


def main() -> None:
    from planning.models import BaselineFit, PlanningCycle
    from planning.services.baseline import baseline_compute
    from planning.services.plan_values import CellInput, plan_values_upsert
    from valuestreams.models import ProductFamily, ValueStream

    call_command("migrate", verbosity=0)
    streams = ValueStream.objects.bulk_create(
        [ValueStream(code=f"VS{s:02d}", name=f"Stream {s}") for s in range(STREAMS)]
    )
    families = ProductFamily.objects.bulk_create(
        [
            ProductFamily(
                code=f"F{s:02d}-{f:03d}",
                name=f"Family {s}-{f}",
                value_stream=vs,
                unit_price=Decimal("10"),
                unit_material_cost=Decimal("4"),
                hours_per_unit=Decimal("0.5"),
                dos_min=Decimal("10"),
                dos_max=Decimal("40"),
            )
            for s, vs in enumerate(streams)
            for f in range(FAMILIES_PER_STREAM)
        ]
    )
    # One old cycle (horizon 36) holds all 48 months of history: 12 before it, 36 in it.
    history_cycle = PlanningCycle.objects.create(month=_month(-HISTORY + 12), horizon=36)
    cycle = PlanningCycle.objects.create(month=CYCLE, horizon=18, status="in_progress")
    rng = np.random.default_rng(17)
    cells = [
        CellInput(fam.value_stream.code, fam.code, _month(-HISTORY + i), "actual_sales", Decimal(v))
        for k, fam in enumerate(families)
        for i, v in enumerate(_series(rng, k).astype(int).tolist())
    ]
    t = time.perf_counter()
    plan_values_upsert(cycle=history_cycle, cells=cells, user=None, source="demo")
    print(f"history written: {len(cells):,} cells in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    run = baseline_compute(cycle=cycle, n_jobs=os.cpu_count() or 1)
    took = time.perf_counter() - t
    methods: dict[str, int] = {}
    for m in BaselineFit.objects.filter(cycle=cycle).values_list("method", flat=True):
        methods[m] = methods.get(m, 0) + 1
    row(
        f"baseline, {run.families_total:,} families x {HISTORY} months",
        took,
        target=TARGET_S,
        unit="s",
        note=", ".join(f"{k} {v}" for k, v in sorted(methods.items())),
    )


if __name__ == "__main__":
    main()
