"""Benchmark the step-5 review page: ``/review/`` for 20 value streams x 50 families.

Run from the repo root: ``python bench/bench_review.py [--streams 20 --families 50]``.
Builds a throw-away database (``bench/harness.py``: SQLite, or PostgreSQL when
``DATABASE_URL`` names one; migrations, then the
synthetic company of ``tests/dashboard_data.py`` via bulk_create: an 18-month plan and
two approved cycles before it, so "vs last approved" and accuracy have data), logs an
executive in with the Django test client and renders ``/review/`` RUNS times. Prints
median and p95 in ms and the query count against the target (≤ 150 ms median);
also ``/value-streams/<code>/``. It reports, it never fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from harness import bench_database, django_for_requests, row  # noqa: E402

TARGET_MS = 150.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--families", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    bench_database("review")
    django_for_requests()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tests.dashboard_data import build_company
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    month = timezone.localdate().replace(day=1)
    t0 = time.perf_counter()
    build_company(streams=args.streams, families=args.families, month=month, horizon=18)
    executive = UserFactory(username="bench-exec", roles=["executive"])
    print(
        f"data: {args.streams} streams x {args.families} families, 18 months, "
        f"3 cycles ({time.perf_counter() - t0:.1f} s to build)"
    )

    client = Client()
    client.force_login(executive)

    def measure(url: str, name: str, target: float | None = None, before=None) -> None:
        """``before(i)``, untimed, ahead of each request (a write the page must show)."""
        response = client.get(url)  # warm-up
        assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        n_queries = len(queries.captured_queries)  # now: later requests reset the log
        times, cpu = [], []
        for i in range(args.runs):
            if before is not None:
                before(i)
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        note = (
            f"cpu {statistics.median(cpu):.0f} ms, {n_queries} queries, "
            f"{len(response.content) / 1024:.0f} KiB"
        )
        row(name, times, target=target, note=note)

    scale = f"{args.streams} streams x {args.families} families"
    measure("/review/", f"/review/, {scale}", TARGET_MS)
    measure(f"/review/?month={dt.date(month.year + 1, month.month, 1):%Y-%m}", "/review/?month=…")
    measure("/value-streams/S00/", "/value-streams/S00/ dashboard")
    measure("/value-streams/S00/?family=S00-F000", "/value-streams/S00/?family=…")

    # As under load: a planner saved a cell since the last view (the page is recomputed).
    from decimal import Decimal

    from planning.models import PlanValue
    from planning.services.plan_values import CellInput, plan_values_upsert

    cell = (
        PlanValue.objects.filter(cycle__month=month, measure="demand", product_family__isnull=False)
        .select_related("cycle", "value_stream", "product_family")
        .order_by("pk")
        .first()
    )

    def write(i: int) -> None:
        plan_values_upsert(
            cycle=cell.cycle,
            cells=[
                CellInput(
                    cell.value_stream.code,
                    cell.product_family.code,
                    cell.month,
                    "demand",
                    Decimal(100 + i),
                )
            ],
            user=None,
        )

    measure("/review/", "/review/ after a cell was saved", before=write)
    measure("/value-streams/S00/", "/value-streams/S00/ after a cell was saved", before=write)


if __name__ == "__main__":
    main()
