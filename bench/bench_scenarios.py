"""Benchmark scenarios: creating one from a 1,000-family × 36-month plan, and comparing
the plan with 3 scenarios for 20 value streams (the review's and step 3's comparison).

Run from the repo root: ``python bench/bench_scenarios.py [--streams 20 --families 50]``
(``make bench`` runs it with the others). Builds a throw-away database
(``bench/harness.py``: SQLite, or PostgreSQL when ``DATABASE_URL`` names one) with the
synthetic company of ``tests/dashboard_data.py`` (20 streams × 50 families = 1,000
families, a 36-month horizon, two approved cycles before it), then:

* ``scenario_create`` RUNS times (each a new scenario: two ``INSERT … SELECT`` of the
  plan's ~110,000 cells and 1,000 prices) against the target < 1 s;
* ``scenario_compare`` of the plan and 3 scenarios (each with a few edited cells) for the
  20 streams at the review bench's scale (50 families each, an 18-month horizon), cold
  (every projection recomputed) against the target < 500 ms, and warm (nothing changed
  since the last request: the projections are reused) for reference.

The two scales are two phases, each in its own process and database
(``--phase create|compare``; without it the script runs both).

CPU time (``time.process_time``) is printed beside each wall-clock median, and the load
beside every row: the machine is shared. It reports, it never fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from harness import bench_database, django_for_requests, row  # noqa: E402

CREATE_TARGET_MS = 1000.0
COMPARE_TARGET_MS = 500.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--families", type=int, default=50)
    parser.add_argument("--horizon", type=int, default=36)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--phase", choices=("create", "compare"), default=None)
    args = parser.parse_args()
    if args.phase is None:
        import subprocess

        base = [sys.executable, __file__, "--streams", str(args.streams)]
        base += ["--families", str(args.families), "--runs", str(args.runs)]
        subprocess.run([*base, "--phase", "create", "--horizon", str(args.horizon)], check=False)
        subprocess.run([*base, "--phase", "compare", "--horizon", "18"], check=False)
        return

    bench_database("scenarios")
    django_for_requests()
    from django.core.management import call_command
    from django.utils import timezone

    from planning.models import PlanValue
    from planning.selectors.plans import projections_forget
    from planning.selectors.scenarios import scenario_compare
    from planning.services.plan_values import CellInput, plan_values_upsert
    from planning.services.scenarios import scenario_create, scenario_delete
    from tests.dashboard_data import build_company

    call_command("migrate", verbosity=0)
    month = timezone.localdate().replace(day=1)
    t0 = time.perf_counter()
    cycle = build_company(
        streams=args.streams, families=args.families, month=month, horizon=args.horizon
    )
    cells = PlanValue.objects.filter(cycle=cycle).count()
    families = args.streams * args.families
    print(
        f"data: {args.streams} streams x {args.families} families = {families} families, "
        f"{args.horizon} months, {cells:,} plan cells ({time.perf_counter() - t0:.1f} s to build)"
    )

    times, cpu = [], []
    for i in range(args.runs if args.phase == "create" else 3):
        start, start_cpu = time.perf_counter(), time.process_time()
        scenario = scenario_create(cycle=cycle, name=f"bench-{i}", user=None)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        if i >= 3:  # keep three for the comparison
            scenario_delete(scenario=scenario, user=None)
    if args.phase == "create":
        row(
            f"create a scenario, {families} families x {args.horizon} months",
            times,
            target=CREATE_TARGET_MS,
            note=f"cpu {statistics.median(cpu):.0f} ms, {cells:,} cells copied",
        )
        return

    names = ["bench-0", "bench-1", "bench-2"]
    for i, name in enumerate(names):
        plan_values_upsert(
            cycle=cycle.in_scenario(scenario_get_quick(cycle, name)),
            cells=[
                CellInput("S00", f"S00-F{j:03d}", month, "demand", Decimal(500 + 100 * i))
                for j in range(5)
            ],
            user=None,
        )

    def compare(cold: bool) -> tuple[list[float], list[float]]:
        times, cpu = [], []
        scenario_compare(cycle=cycle, names=names)  # warm-up (imports, first queries)
        for _ in range(args.runs):
            if cold:
                projections_forget()
            start, start_cpu = time.perf_counter(), time.process_time()
            scenario_compare(cycle=cycle, names=names)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        return times, cpu

    times, cpu = compare(cold=True)
    row(
        f"compare plan + 3 scenarios, {args.streams} streams x {args.families}, "
        f"{args.horizon} months, cold",
        times,
        target=COMPARE_TARGET_MS,
        note=f"cpu {statistics.median(cpu):.0f} ms, 4 projections of {families} families",
    )
    # The meeting's case: one scenario edited since the comparison was last shown (its
    # projection is recomputed, the plan's and the other scenarios' are reused).
    edited = cycle.in_scenario(scenario_get_quick(cycle, names[0]))
    scenario_compare(cycle=cycle, names=names)
    times, cpu = [], []
    for run in range(args.runs):
        plan_values_upsert(
            cycle=edited,
            cells=[CellInput("S01", "S01-F000", month, "demand", Decimal(700 + run))],
            user=None,
        )
        start, start_cpu = time.perf_counter(), time.process_time()
        scenario_compare(cycle=cycle, names=names)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    row(
        f"compare plan + 3 scenarios, {args.streams} streams x {args.families}, "
        f"{args.horizon} months, one scenario edited",
        times,
        note=f"cpu {statistics.median(cpu):.0f} ms, 1 projection recomputed",
    )
    times, cpu = compare(cold=False)
    row(
        f"compare plan + 3 scenarios, {args.streams} streams x {args.families}, "
        f"{args.horizon} months, warm",
        times,
        note=f"cpu {statistics.median(cpu):.0f} ms, projections reused",
    )


def scenario_get_quick(cycle, name):
    from planning.selectors.scenarios import scenario_get

    return scenario_get(cycle=cycle, name=name)


if __name__ == "__main__":
    main()
