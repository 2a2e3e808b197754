"""Benchmark starting a cycle and a reminder tick on a throwaway database.

Run from the repo root: ``python bench/bench_cycle.py``. Loads the demo, then prints:
``cycle_start`` with its roll forward (demo plan: 12 families x 18 months), an idle beat
tick (nothing due: the every-5-minutes steady state, target under 100 ms), and a busy
tick that claims and mails a reminder for each of 200 participants. SQLite, or PostgreSQL
when ``DATABASE_URL`` names one (``bench/harness.py``). Reports, never fails.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))
from harness import bench_database, row  # noqa: E402

bench_database("cycle")
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "sofp.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "ERROR",
    }
)

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402

from django.core.management import call_command  # noqa: E402

N_USERS = 200
TARGET_IDLE_MS = 100.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> None:
    from django.contrib.auth import get_user_model

    from planning.demo import demo_load
    from planning.models import PlanningCycle, ReminderDelivery
    from planning.services.cycles import cycle_participants_fill, cycle_start
    from planning.services.reminders import reminders_send
    from valuestreams.models import Membership, ValueStream

    call_command("migrate", verbosity=0)
    demo_load(today=dt.date(2026, 11, 15))
    newest = PlanningCycle.objects.order_by("-month").first().month
    month = dt.date(newest.year + (newest.month == 12), newest.month % 12 + 1, 1)

    t = time.perf_counter()
    cycle, info = cycle_start(month=month, user=None)
    took = time.perf_counter() - t
    rolled = info.copied + info.extended + info.opening_inventory
    row(f"cycle_start with roll forward of {rolled} values", took * 1000)

    idle_now = cycle.steps.get(number=1).input_deadline - dt.timedelta(days=20)
    runs = []
    for _ in range(20):
        t = time.perf_counter()
        reminders_send(now=idle_now)
        runs.append(time.perf_counter() - t)
    row("reminder tick, nothing due", [r * 1000 for r in runs], target=TARGET_IDLE_MS)

    User = get_user_model()
    stream = ValueStream.objects.get(code="PUMPS")
    users = User.objects.bulk_create(
        [User(username=f"bench{i}", email=f"bench{i}@example.com") for i in range(N_USERS)]
    )
    Membership.objects.bulk_create(
        [Membership(user=u, value_stream=stream, role="viewer") for u in users]
    )
    cycle_participants_fill(cycle=cycle)
    busy_now = cycle.steps.get(number=1).input_deadline - dt.timedelta(hours=2)
    t = time.perf_counter()
    result = reminders_send(now=busy_now)
    took = time.perf_counter() - t
    row(f"reminder tick, {result.claimed} reminders claimed and mailed", took * 1000)
    t = time.perf_counter()
    again = reminders_send(now=busy_now)
    print(
        f"same tick again ({again.already} already claimed, {again.claimed} new): "
        f"{ms(time.perf_counter() - t)}"
    )
    print(f"deliveries in the table: {ReminderDelivery.objects.count()}")


if __name__ == "__main__":
    main()
