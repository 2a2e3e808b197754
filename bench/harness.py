"""What every bench script shares: a fresh database, one way to print a row, one results file.

* :func:`bench_database` gives a script a database of its own: a SQLite file in a new
  folder by default, or — when ``DATABASE_URL`` points at PostgreSQL — a new database
  ``<that name>_bench`` on the same server, created empty and dropped at exit, so the
  database you named is never touched. It sets ``DATABASE_URL`` (and ``SOFP_VAR_DIR``)
  for Django and for any ``manage.py`` the script starts.
* :func:`row` prints one figure as ``make bench`` shows it — median, p95 where there is
  more than one sample, the target, PASS/FAIL and the machine's load average — and
  appends it to ``SOFP_BENCH_RESULTS`` (JSON lines) so ``bench/run_all.py`` can print the
  whole table at the end.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

RESULTS_ENV = "SOFP_BENCH_RESULTS"


@dataclass(frozen=True)
class BenchDatabase:
    backend: str  # "SQLite" or "PostgreSQL"
    url: str
    folder: Path


def is_postgres(url: str | None) -> bool:
    return bool(url) and urlparse(url).scheme in {"postgres", "postgresql", "pgsql"}


def backend_name(url: str | None = None) -> str:
    return "PostgreSQL" if is_postgres(url or os.environ.get("DATABASE_URL")) else "SQLite"


def bench_database(label: str) -> BenchDatabase:
    """A fresh, empty database for one bench script (see the module docstring)."""
    folder = Path(tempfile.mkdtemp(prefix=f"sofp-bench-{label}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ.setdefault("SOFP_VAR_DIR", str(folder / "var"))
    given = os.environ.get("DATABASE_URL", "")
    if not is_postgres(given):
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        os.environ["DATABASE_URL"] = url
        return BenchDatabase("SQLite", url, folder)
    parts = urlparse(given)
    name = f"{parts.path.lstrip('/') or 'sofp'}_bench"
    server = urlunparse(parts._replace(path="/postgres"))
    _pg(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg(server, f'CREATE DATABASE "{name}"')
    atexit.register(_drop_later, server, name)
    url = urlunparse(parts._replace(path=f"/{name}"))
    os.environ["DATABASE_URL"] = url
    return BenchDatabase("PostgreSQL", url, folder)


def django_for_requests() -> None:
    """Start Django as production would serve pages (no query logging, no debug
    templates), with the test client allowed in: for scripts that time requests."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sofp.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(48))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    setup_test_environment()  # allows "testserver" as a host


def _pg(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql)


def _drop_later(server: str, name: str) -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django never started: nothing to close
        pass
    _pg(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def row(
    name: str,
    samples: list[float] | float,
    *,
    target: float | None = None,
    unit: str = "ms",
    note: str = "",
    on: str = "median",
) -> dict:
    """Print one bench row (median, p95, target, verdict, load) and record it.

    ``target`` is an upper bound on the median, or on the p95 with ``on="p95"`` (None:
    shown for reference only).
    """
    samples = [samples] if isinstance(samples, int | float) else list(samples)
    median = statistics.median(samples)
    p95 = percentile(samples, 95) if len(samples) > 1 else None
    judged = p95 if on == "p95" and p95 is not None else median
    verdict = "" if target is None else ("PASS" if judged <= target else "FAIL")
    record = {
        "name": name,
        "median": median,
        "p95": p95,
        "n": len(samples),
        "unit": unit,
        "target": target,
        "on": on,
        "verdict": verdict,
        "load": load_average(),
        "backend": backend_name(),
        "note": note,
    }
    p95_text = f"p95 {_num(p95):>8} {unit}" if p95 is not None else " " * (13 + len(unit))
    target_text = "(reference)"
    if target is not None:
        target_text = f"target {'p95 ' if on == 'p95' else ''}≤ {_num(target)} {unit}"
    print(
        f"{name:<46} median {_num(median):>8} {unit}  {p95_text}  {target_text:<20} "
        f"{verdict or '    '}  load {record['load']}" + (f"  {note}" if note else ""),
        flush=True,
    )
    out = os.environ.get(RESULTS_ENV)
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    return record


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, int):
        return str(x)
    return f"{x:.2f}" if abs(x) < 100 else f"{x:.0f}"
