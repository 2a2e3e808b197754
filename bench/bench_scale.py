"""Benchmark SOFP at scale: 100 value streams x 5,000 families x 36 months.

Run from the repo root: ``python bench/bench_scale.py [--streams 100 --families 50
--months 36]`` (``--families`` is per stream). It writes master and plan files (about
376,000 plan rows at full size), migrates a fresh database (``bench/harness.py``: SQLite,
or PostgreSQL when ``DATABASE_URL`` names one), and measures, each with its peak memory:

* ``import_master`` and ``import_plan`` as subprocesses, *including* Django start-up
  (target: the plan import ≤ 20 s);
* ``/review/`` for an executive (every stream; target ≤ 1 s) and the grid of one
  50-family stream, page + data endpoint (target < 1 s), in this process with the Django
  test client.

It reports, it never fails. Memory is the peak resident set of the process that did the
work (``ru_maxrss``): for the requests, this process after building the data.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import plan_files  # noqa: E402
from harness import bench_database, django_for_requests, row  # noqa: E402

CYCLE = "2027-01"
IMPORT_TARGET_S, REVIEW_TARGET_MS, GRID_TARGET_MS = 20.0, 1000.0, 1000.0
RUNS = 5


def write_files(folder: Path, streams: int, families: int, horizon: int) -> tuple[Path, Path, int]:
    """Master and plan CSVs in the file contract; values vary without a random generator."""
    return plan_files.write_files(
        folder,
        streams=streams,
        families=families,
        horizon=horizon,
        cycle=CYCLE,
        values=plan_files.PatternValues(),
    )


def _children() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def command(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak KiB (largest child so far) of a manage.py run."""
    cpu, _ = _children()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        print(done.stdout, done.stderr, sep="\n")
        raise SystemExit(f"{' '.join(args)} failed with exit code {done.returncode}")
    cpu_after, peak = _children()
    return seconds, cpu_after - cpu, peak


def _mib(kib: int) -> str:
    return f"peak {kib / 1024:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--families", type=int, default=50, help="per value stream")
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()

    db = bench_database("scale")
    master, plan, rows = write_files(db.folder, args.streams, args.families, args.months)
    print(
        f"{args.streams} streams x {args.streams * args.families:,} families x "
        f"{args.months} months: {rows:,} plan rows ({db.backend})",
        flush=True,
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO_ROOT, check=True
    )
    seconds, cpu, peak = command(["import_master", str(master)])
    row("scale: import_master", seconds, unit="s", note=f"cpu {cpu:.1f} s, {_mib(peak)}")
    command(["start_cycle", CYCLE, "--horizon", str(args.months)])
    seconds, cpu, peak = command(["import_plan", str(plan), "--cycle", CYCLE])
    row(
        f"scale: import_plan {rows:,} rows",
        seconds,
        target=IMPORT_TARGET_S,
        unit="s",
        note=f"cpu {cpu:.1f} s, {_mib(peak)}",
    )

    django_for_requests()
    from django.test import Client

    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="scale-exec", roles=["executive"]))

    def timed(url: str) -> list[float]:
        samples = []
        for _ in range(RUNS):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        return samples

    first = time.perf_counter()
    client.get("/review/")
    cold = (time.perf_counter() - first) * 1000
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row("scale: /review/ first request (nothing reused)", cold, unit="ms", note=_mib(own))
    review = timed("/review/")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row("scale: /review/", review, target=REVIEW_TARGET_MS, note=_mib(own))

    base = f"/cycles/{CYCLE}/grid/VS000/"
    grid = [p + d for p, d in zip(timed(base), timed(base + "data/"), strict=True)]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row(
        f"scale: grid open, {args.families} families (page + data)",
        grid,
        target=GRID_TARGET_MS,
        note=_mib(own),
    )


if __name__ == "__main__":
    main()
