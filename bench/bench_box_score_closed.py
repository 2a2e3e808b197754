"""Benchmark the box score of a closed month: 20 value streams x 50 families with 36
months of actuals (target < 200 ms median).

Run from the repo root: ``python bench/bench_box_score_closed.py [--streams 20 --families
50]``. Builds a throw-away database (``bench/harness.py``), bulk-creates the facts (every
family's sales and production, every stream's operational actuals, 36 months) and the
frozen plan of the month before the closed month, then times
``closed_months_box_score`` for the last closed month (queries and engine) and the
12-month block the review shows. It reports, it never fails.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from harness import bench_database, django_for_requests, row  # noqa: E402

TARGET_MS = 200.0
MONTHS = 36


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--families", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    bench_database("box-score-closed")
    django_for_requests()
    from django.core.management import call_command
    from django.utils import timezone

    from planning.calendar import month_add
    from planning.measures import ACTUAL_STREAM_FACTS
    from planning.models import Actual, CycleStatus, PlanningCycle, PlanValue
    from planning.selectors.actuals import (
        closed_month_block,
        closed_months_box_score,
        last_closed_month,
    )
    from valuestreams.models import ProductFamily, ValueStream

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    rng = random.Random(16)
    closed = last_closed_month()
    months = [month_add(closed, -i) for i in range(MONTHS)]
    streams = ValueStream.objects.bulk_create(
        [ValueStream(code=f"S{i:02d}", name=f"Stream {i}") for i in range(args.streams)]
    )
    fams = ProductFamily.objects.bulk_create(
        [
            ProductFamily(
                code=f"S{i:02d}-F{j:03d}",
                name=f"Family {j}",
                value_stream=vs,
                unit_price=Decimal("100"),
                unit_material_cost=Decimal("40"),
                hours_per_unit=Decimal("0.5"),
            )
            for i, vs in enumerate(streams)
            for j in range(args.families)
        ]
    )
    facts = []
    for m in months:
        for f in fams:
            for measure in ("actual_sales", "actual_production"):
                facts.append(
                    Actual(
                        value_stream_id=f.value_stream_id,
                        product_family=f,
                        month=m,
                        measure=measure,
                        value=Decimal(rng.randint(50, 150)),
                    )
                )
        for vs in streams:
            for measure in ACTUAL_STREAM_FACTS:
                facts.append(Actual(value_stream=vs, month=m, measure=measure, value=Decimal(100)))
    Actual.objects.bulk_create(facts, batch_size=5000)
    plan_rows = []
    for m in months[:12]:
        cycle = PlanningCycle.objects.create(
            month=month_add(m, -1), status=CycleStatus.APPROVED, approved_at=timezone.now()
        )
        for f in fams:
            for measure in ("demand", "production"):
                plan_rows.append(
                    PlanValue(
                        cycle=cycle,
                        value_stream_id=f.value_stream_id,
                        product_family=f,
                        month=m,
                        measure=measure,
                        value=Decimal(100),
                    )
                )
    PlanValue.objects.bulk_create(plan_rows, batch_size=5000)
    print(
        f"data: {args.streams} streams x {args.families} families, {len(facts):,} actuals "
        f"over {MONTHS} months, 12 frozen plans ({time.perf_counter() - t0:.1f} s to build)"
    )

    cpu: list[float] = []

    def timed(fn) -> list[float]:
        """Wall-clock ms per run; ``cpu`` gets the runs' CPU ms (the machine is shared)."""
        fn()  # warm-up
        out = []
        cpu.clear()
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            out.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        return out

    def cpu_note() -> str:
        return f"CPU median {statistics.median(cpu):.0f} ms"

    scale = f"{args.streams}x{args.families}, {MONTHS} months of actuals"
    samples = timed(lambda: closed_months_box_score(months=[closed]))
    row(f"closed-month box score, {scale}", samples, target=TARGET_MS, note=cpu_note())
    samples = timed(lambda: closed_month_block(month=closed, value_streams=streams))
    row("last closed month block + 12-month trend", samples, note=cpu_note())


if __name__ == "__main__":
    main()
