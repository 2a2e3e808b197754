"""Benchmark the planning engine: 1,000 families x 36 months over 40 value streams.

Run from the repo root: ``python bench/bench_engine.py``. Prints median and p95 in ms
of ``project()`` against its target (≤ 10 ms median), and of ``export_frame()`` and
``computed_frame()`` of that projection, each with its median CPU time beside it; it
reports, it never fails.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

sys.path.insert(0, str(REPO_ROOT / "bench"))

from harness import row  # noqa: E402

from planning.engine import PlanInput, computed_frame, export_frame, project  # noqa: E402

N_FAMILIES = 1_000
N_STREAMS = 40
HORIZON = 36
RUNS = 50
TARGET_MS = 10.0


def synthetic_plan(seed: int = 0) -> PlanInput:
    """A random but plausible plan: demand, production, hours, costs, 12 months of actuals."""
    rng = np.random.default_rng(seed)
    start = pd.Period("2027-01", freq="M")
    stream_of = np.arange(N_FAMILIES) % N_STREAMS
    vs = np.array([f"VS{s:03d}" for s in stream_of], dtype=object)
    pf = np.array([f"VS{s:03d}-{i:04d}" for i, s in enumerate(stream_of)], dtype=object)
    master = pd.DataFrame(
        {
            "value_stream": vs,
            "product_family": pf,
            "unit_price": rng.uniform(50, 500, N_FAMILIES).round(2),
            "unit_material_cost": rng.uniform(20, 200, N_FAMILIES).round(2),
            "hours_per_unit": rng.uniform(0.1, 2.0, N_FAMILIES).round(3),
            "dos_min": 10.0,
            "dos_max": 30.0,
        }
    )
    months = pd.period_range(start, periods=HORIZON, freq="M")
    past = pd.period_range(start - 12, periods=12, freq="M")
    fam_rep = np.repeat(np.arange(N_FAMILIES), HORIZON)
    demand = rng.uniform(0, 1000, N_FAMILIES * HORIZON).round(1)
    frames = [
        pd.DataFrame(
            {
                "value_stream": vs[fam_rep],
                "product_family": pf[fam_rep],
                "month": np.tile(months, N_FAMILIES),
                "measure": measure,
                "value": values,
            }
        )
        for measure, values in (
            ("demand", demand),
            ("production", (demand * rng.uniform(0.9, 1.1, demand.size)).round(1)),
        )
    ]
    past_rep = np.repeat(np.arange(N_FAMILIES), 12)
    frames.append(
        pd.DataFrame(
            {
                "value_stream": vs[past_rep],
                "product_family": pf[past_rep],
                "month": np.tile(past, N_FAMILIES),
                "measure": "actual_sales",
                "value": rng.uniform(0, 1000, N_FAMILIES * 12).round(1),
            }
        )
    )
    frames.append(
        pd.DataFrame(
            {
                "value_stream": vs,
                "product_family": pf,
                "month": start,
                "measure": "opening_inventory",
                "value": rng.uniform(0, 800, N_FAMILIES).round(1),
            }
        )
    )
    streams = np.array([f"VS{s:03d}" for s in range(N_STREAMS)], dtype=object)
    st_rep = np.repeat(np.arange(N_STREAMS), HORIZON)
    for measure, low, high in (
        ("available_hours", 8_000, 15_000),
        ("non_productive_hours", 500, 1_500),
        ("conversion_cost", 100_000, 300_000),
    ):
        frames.append(
            pd.DataFrame(
                {
                    "value_stream": streams[st_rep],
                    "product_family": "",
                    "month": np.tile(months, N_STREAMS),
                    "measure": measure,
                    "value": rng.uniform(low, high, N_STREAMS * HORIZON).round(1),
                }
            )
        )
    frames.append(
        pd.DataFrame(
            {
                "value_stream": "",
                "product_family": "",
                "month": months,
                "measure": "sustaining_cost",
                "value": rng.uniform(20_000, 60_000, HORIZON).round(2),
            }
        )
    )
    values = pd.concat(frames, ignore_index=True)
    values["month"] = values["month"].astype("period[M]")
    for col in ("value_stream", "product_family", "measure"):
        values[col] = values[col].astype("str")
    return PlanInput(start=start, horizon=HORIZON, master=master, values=values)


def timings(func, runs: int = RUNS) -> tuple[list[float], str]:
    """Wall time of each call in ms, after one warm-up call, and the median CPU time as
    a note (on a shared machine the wall clock also counts other processes' turns)."""
    func()
    samples, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return samples, f"cpu {statistics.median(cpu):.2f} ms"


def timed_row(name: str, func, target: float | None = None) -> None:
    samples, note = timings(func)
    row(name, samples, target=target, note=note)


def main() -> None:
    plan = synthetic_plan()
    projection = project(plan)
    rows = len(export_frame(projection))
    print(
        f"synthetic plan: {N_FAMILIES} families, {N_STREAMS} value streams, "
        f"{HORIZON} months, {len(plan.values):,} input rows, {rows:,} export rows"
    )
    timed_row(
        "engine project(), 1,000 families x 36 months", lambda: project(plan), target=TARGET_MS
    )
    timed_row("engine export_frame() of that projection", lambda: export_frame(projection))
    timed_row("engine computed_frame() of that projection", lambda: computed_frame(projection))


if __name__ == "__main__":
    main()
