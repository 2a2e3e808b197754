"""Benchmark the planning engine: 1,000 families x 36 months over 40 value streams.

Run from the repo root: ``python bench/bench_engine.py``. Prints median and p95 in ms
for ``project()`` alone and for ``project()`` + ``export_frame()`` against the target
(under 50 ms median); it reports, it never fails.
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

from planning.engine import PlanInput, export_frame, project  # noqa: E402

N_FAMILIES = 1_000
N_STREAMS = 40
HORIZON = 36
RUNS = 30
TARGET_MS = 50.0


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


def timings(func, runs: int = RUNS) -> tuple[float, float]:
    """Median and p95 wall time in ms after one warm-up call."""
    func()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        func()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = float(np.percentile(samples, 95))
    return statistics.median(samples), p95


def main() -> None:
    plan = synthetic_plan()
    print(
        f"synthetic plan: {N_FAMILIES} families, {N_STREAMS} value streams, "
        f"{HORIZON} months, {len(plan.values):,} input rows"
    )
    rows = len(export_frame(project(plan)))
    med_p, p95_p = timings(lambda: project(plan))
    med_e, p95_e = timings(lambda: export_frame(project(plan)))
    print(f"project():                 median {med_p:7.2f} ms   p95 {p95_p:7.2f} ms")
    print(
        f"project() + export_frame(): median {med_e:7.2f} ms   p95 {p95_e:7.2f} ms"
        f"   ({rows:,} export rows, {RUNS} runs)"
    )
    verdict = "MEETS" if med_e < TARGET_MS else "MISSES"
    print(
        f"target 'engine on 1,000 families x 36 months: under {TARGET_MS:.0f} ms median': "
        f"{verdict} ({med_e:.2f} ms)"
    )


if __name__ == "__main__":
    main()
