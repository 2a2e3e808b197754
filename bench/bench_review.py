"""Benchmark the step-5 review page: ``/review/`` for 20 value streams x 50 families.

Run from the repo root: ``python bench/bench_review.py [--streams 20 --families 50]``.
Builds a throw-away SQLite file database under ``bench/out/`` (migrations, then the
synthetic company of ``tests/dashboard_data.py`` via bulk_create: an 18-month plan and
two approved cycles before it, so "vs last approved" and accuracy have data), logs an
executive in with the Django test client and renders ``/review/`` RUNS times. Prints
median and p95 in ms and the query count against the target (under 500 ms median);
also ``/value-streams/<code>/``. It reports, it never fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

TARGET_MS = 500.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--families", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    out = REPO_ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "bench_review.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sofp.settings")
    # Production-like: no query logging, no debug templates.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from tests.dashboard_data import build_company
    from tests.factories import UserFactory

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)
    setup_test_environment()  # allows "testserver" as a host
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

    def measure(url: str) -> None:
        response = client.get(url)  # warm-up
        assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        n_queries = len(queries.captured_queries)  # now: later requests reset the log
        times, cpu = [], []
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        times.sort()
        median = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        verdict = "OK" if median < TARGET_MS else "SLOW"
        print(
            f"{url:<36} median {median:6.1f} ms  p95 {p95:6.1f} ms  "
            f"(cpu median {statistics.median(cpu):6.1f} ms)  {n_queries:2d} queries  "
            f"{len(response.content) / 1024:4.0f} KiB  target < {TARGET_MS:.0f} ms: {verdict}"
        )

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (wall times grow with load)")
    measure("/review/")
    measure(f"/review/?month={dt.date(month.year + 1, month.month, 1):%Y-%m}")
    measure("/value-streams/S00/")
    measure("/value-streams/S00/?family=S00-F000")


if __name__ == "__main__":
    main()
