"""`make bench`: run every bench/bench_*.py script, then the load test; print their figures."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    # The load test (50 users, 60 s against PostgreSQL + Redis + gunicorn) runs last.
    scripts = [*sorted(HERE.glob("bench_*.py")), HERE / "load_test.py"]
    failures = 0
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.name} finished in {time.perf_counter() - started:.1f} s")
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
