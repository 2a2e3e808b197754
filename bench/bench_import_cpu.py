"""Where an ``import_plan`` of 39,000 rows spends its time: our CPU and the server's.

Run from the repo root: ``python bench/bench_import_cpu.py``. The same files and the
same three imports as ``bench_import_export.py`` (first, the same file again, every
value changed), but run in this process through ``call_command``, without Django's
start-up, so that each import's time can be split on a shared machine, where the wall
clock mostly measures the queue:

* **our CPU** — ``time.process_time`` of this process (reading, checking, building rows);
* on PostgreSQL, **the server's CPU** — its backend's ``/proc/PID/stat`` (only when the
  server runs on this machine and the file is readable; otherwise the row is left out);
* of it, **the foreign-key checks at commit** — the constraints are ``DEFERRABLE
  INITIALLY DEFERRED`` (Django's), so their per-row checks run when the transaction
  commits; the script runs ``SET CONSTRAINTS ALL IMMEDIATE`` just before the commit so
  that this work is timed on its own (it would run at the commit anyway).

It reports, it never fails.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from bench_import_export import write_files  # noqa: E402
from harness import bench_database, row  # noqa: E402

CYCLE = "2027-01"  # as in bench_import_export.py
ROUNDS = int(os.environ.get("IMPORT_CPU_ROUNDS", "3"))


class ServerClock:
    """CPU seconds of this connection's PostgreSQL backend, or None when unreadable."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.tick = os.sysconf("SC_CLK_TCK")

    def read(self) -> float | None:
        if self.connection.vendor != "postgresql":
            return None
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the server runs elsewhere, or its files are not ours to read
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="sofp-bench-import-cpu-"))
    bench_database("importcpu")
    master, plan, _ = write_files(folder)
    changed = folder / "plan-changed.csv"
    lines = plan.read_text().splitlines()
    changed.write_text("\n".join([lines[0]] + [f"{line}1" for line in lines[1:]]) + "\n")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sofp.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from planning.models import PlanningCycle

    call_command("migrate", verbosity=0)
    if os.environ.get("IMPORT_CPU_SQL"):  # an experiment on the schema, e.g. without an index
        with connection.cursor() as cursor:
            cursor.execute(os.environ["IMPORT_CPU_SQL"])
    call_command("import_master", str(master), stdout=io.StringIO())
    clock = ServerClock(connection)
    commit = connection._commit
    checks: list[float] = []

    def timed_commit():
        # The deferred foreign-key checks, run on their own just before the commit.
        before = clock.read()
        if before is not None:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            checks.append(clock.read() - before)
        return commit()

    connection._commit = timed_commit
    results: dict[str, dict[str, list[float]]] = {}
    for round_ in range(ROUNDS):
        if round_:  # the cycle goes (its cells and history with it): a first import again
            PlanningCycle.objects.filter(month=dt.date(2027, 1, 1)).delete()
        for name, path in (("first", plan), ("same file", plan), ("all changed", changed)):
            checks.clear()
            server = clock.read()
            cpu, wall = time.process_time(), time.perf_counter()
            call_command("import_plan", str(path), "--cycle", CYCLE, stdout=io.StringIO())
            figures = results.setdefault(name, {"wall": [], "ours": [], "server": [], "fk": []})
            figures["wall"].append(time.perf_counter() - wall)
            figures["ours"].append(time.process_time() - cpu)
            if server is not None:
                figures["server"].append(clock.read() - server)
                figures["fk"].append(sum(checks))
    connection._commit = commit
    for name, figures in results.items():
        label = f"import_plan ({name}) in process"
        row(f"{label}: wall", figures["wall"], unit="s")
        row(f"{label}: our CPU", figures["ours"], unit="s")
        if figures["server"]:
            row(f"{label}: server CPU", figures["server"], unit="s")
            row(f"{label}: of it, FK checks at commit", figures["fk"], unit="s")


if __name__ == "__main__":
    main()
