"""`make bench`: run every bench/bench_*.py script, then the load test; print one table.

SQLite by default; with ``DATABASE_URL`` pointing at PostgreSQL every script uses a fresh
database on that server (``bench/harness.py``). The load test always runs on gunicorn +
PostgreSQL + Redis (``LOAD_*`` variables, see ``bench/load_test.py``). Each script prints
its rows as it goes; at the end the rows are printed again as one Markdown table (the
shape of the tables in docs/performance.md), with the machine's load beside each row.
Pass script names to run only those: ``python bench/run_all.py engine review``.
Every ``bench_*.py`` is picked up (``bench_scenarios.py``: creating and comparing
scenarios, issue 18).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import RESULTS_ENV, backend_name, load_average  # noqa: E402


def _scripts(only: list[str]) -> list[Path]:
    scripts = [*sorted(HERE.glob("bench_*.py")), HERE / "load_test.py"]
    if only:
        scripts = [s for s in scripts if any(o in s.stem for o in only)]
    return scripts


def _table(rows: list[dict]) -> str:
    lines = [
        "| row | median | p95 | target | verdict | load (1/5/15 min) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        unit = r["unit"]
        p95 = "–" if r["p95"] is None else f"{_fmt(r['p95'])} {unit}"
        on = "p95 " if r.get("on") == "p95" else ""
        target = "–" if r["target"] is None else f"{on}≤ {_fmt(r['target'])} {unit}"
        lines.append(
            f"| {r['name']} | {_fmt(r['median'])} {unit} | {p95} | {target} | "
            f"{r['verdict'] or 'reference'} | {r['load']} |"
        )
    return "\n".join(lines)


def _fmt(x: float) -> str:
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.2f}" if abs(x) < 100 else f"{x:,.0f}"


def main(only: list[str]) -> int:
    results = Path(tempfile.mkstemp(prefix="sofp-bench-", suffix=".jsonl")[1])
    env = {**os.environ, RESULTS_ENV: str(results)}
    backend = backend_name()
    print(
        f"SOFP bench on {backend}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {load_average()} at {time.strftime('%Y-%m-%d %H:%M')}",
        flush=True,
    )
    failures = 0
    for script in _scripts(only):
        print(f"\n=== {script.name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, env=env)
        print(f"--- {script.name} finished in {time.perf_counter() - started:.1f} s")
        failures += result.returncode != 0
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    results.unlink(missing_ok=True)
    print(f"\n## {backend} ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs)\n")
    print(_table(rows))
    misses = [r["name"] for r in rows if r["verdict"] == "FAIL"]
    if misses:
        print(f"\nmissed targets: {', '.join(misses)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
