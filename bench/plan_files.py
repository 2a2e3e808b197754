"""The master and plan files the benchmarks import, in the file contract (SOFP.md).

One writer, sizes as parameters; the numbers come from a :class:`Values` source:
:class:`RandomValues` (seeded: the 39,000-row import bench) or :class:`PatternValues`
(arithmetic, no generator: the scale bench). Both give the same file for the same
arguments, every time.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Protocol

from valuestreams.imports import MASTER_COLUMNS

SUSTAINING_COST = 250000


def months(start: str, n: int) -> list[str]:
    """``n`` months ``YYYY-MM`` from ``start``."""
    year, month = map(int, start.split("-"))
    out = []
    for i in range(n):
        y, m = divmod(month - 1 + i, 12)
        out.append(f"{year + y:04d}-{m + 1:02d}")
    return out


class Values(Protocol):
    """Where a generated file's numbers come from; called in file order."""

    def family(self, s: int, f: int) -> tuple[object, object, object]:
        """unit_price, unit_material_cost, hours_per_unit of family ``f`` of stream ``s``."""

    def opening(self, s: int, f: int) -> object: ...

    def demand(self, s: int, f: int, i: int) -> object: ...

    def production(self, s: int, f: int, i: int) -> object: ...

    def stream(self, s: int, i: int) -> tuple[object, object, object]:
        """available_hours, non_productive_hours, conversion_cost of month ``i``."""


class RandomValues:
    """Uniform random numbers from a seeded generator (rounded as people type them)."""

    def __init__(self, seed: int = 4) -> None:
        self.rng = random.Random(seed)

    def family(self, s: int, f: int) -> tuple[object, object, object]:
        price = round(self.rng.uniform(50, 500), 2)
        hours = round(self.rng.uniform(0.1, 2), 3)
        return price, round(price * 0.4, 2), hours

    def opening(self, s: int, f: int) -> object:
        return round(self.rng.uniform(0, 900), 1)

    def demand(self, s: int, f: int, i: int) -> object:
        return round(self.rng.uniform(0, 1000), 1)

    def production(self, s: int, f: int, i: int) -> object:
        return round(self.rng.uniform(0, 1000), 1)

    def stream(self, s: int, i: int) -> tuple[object, object, object]:
        return (
            round(self.rng.uniform(8000, 12000)),
            round(self.rng.uniform(500, 900)),
            round(self.rng.uniform(1e5, 3e5)),
        )


class PatternValues:
    """Whole numbers that vary by position, without a random generator."""

    def family(self, s: int, f: int) -> tuple[object, object, object]:
        price = 50 + (s * 37 + f * 11) % 450
        return price, price * 2 // 5, 0.5

    def opening(self, s: int, f: int) -> object:
        return 100 + f % 50

    def demand(self, s: int, f: int, i: int) -> object:
        return 100 + (f * 7 + i * 13) % 400

    def production(self, s: int, f: int, i: int) -> object:
        return 100 + (f * 5 + i * 17) % 400

    def stream(self, s: int, i: int) -> tuple[object, object, object]:
        return 20000, 800, 250000


def write_files(
    folder: Path, *, streams: int, families: int, horizon: int, cycle: str, values: Values
) -> tuple[Path, Path, int]:
    """``master.csv`` (``families`` per stream) and ``plan.csv`` (demand and production
    per family and month, opening inventory, the stream measures, sustaining cost) in
    ``folder``; returns their paths and the number of plan rows."""
    master, plan = folder / "master.csv", folder / "plan.csv"
    plan_months = months(cycle, horizon)
    rows = 0
    with master.open("w", newline="") as mf, plan.open("w", newline="") as pf:
        mw, pw = csv.writer(mf), csv.writer(pf)
        mw.writerow(MASTER_COLUMNS)
        pw.writerow(["value_stream", "product_family", "month", "measure", "value"])
        for s in range(streams):
            vs = f"VS{s:03d}"
            for f in range(families):
                fam = f"{vs}-{f:03d}"
                price, material, hours = values.family(s, f)
                mw.writerow(
                    [vs, f"Stream {s}", fam, f"Family {s}/{f}", price, material, hours, 10, 30]
                )
                pw.writerow([vs, fam, cycle, "opening_inventory", values.opening(s, f)])
                rows += 1
                for i, m in enumerate(plan_months):
                    pw.writerow([vs, fam, m, "demand", values.demand(s, f, i)])
                    pw.writerow([vs, fam, m, "production", values.production(s, f, i)])
                    rows += 2
            for i, m in enumerate(plan_months):
                available, non_productive, conversion = values.stream(s, i)
                pw.writerow([vs, "", m, "available_hours", available])
                pw.writerow([vs, "", m, "non_productive_hours", non_productive])
                pw.writerow([vs, "", m, "conversion_cost", conversion])
                rows += 3
        for m in plan_months:
            pw.writerow(["", "", m, "sustaining_cost", SUSTAINING_COST])
            rows += 1
    return master, plan, rows
