"""Benchmark the step-5 board pack: the demo's PDF, and a company of 20 value streams.

Run from the repo root: ``python bench/bench_board_pack.py [--runs 3]``. Builds a
throw-away database (``bench/harness.py``), loads the demo and prints its current
cycle's pack RUNS times through the service the button, the API and the command call
(render the page, Chromium prints it twice — the second time with the page count on the
cover — and pypdf counts the pages); then the same for ``tests/dashboard_data.py``'s
company of 20 streams x 10 families. Targets: demo < 10 s, 20 streams < 30 s (medians);
the button's second click with nothing changed (the cached pack) < 0.2 s.
The CPU time includes Chromium's (children reaped after each print): on a busy
machine read it beside the wall clock and the load. Needs Chromium
(``SOFP_CHROMIUM_PATH``); without it the script says so and stops.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from harness import bench_database, django_for_requests, row  # noqa: E402

DEMO_TARGET_S = 10.0
STREAMS_TARGET_S = 30.0
CACHED_TARGET_S = 0.2  # a second click with nothing changed


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (the Playwright
    driver and Chromium, reaped when the print is done)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--families", type=int, default=10)
    args = parser.parse_args()

    bench_database("board_pack")
    django_for_requests()
    from django.core.management import call_command
    from django.utils import timezone

    from planning.selectors.plans import cycle_current
    from planning.services.board_pack import board_pack_render
    from sofp.errors import ApplicationError
    from sofp.pdf import renderer_check

    try:
        renderer_check()
    except ApplicationError as exc:
        print(f"skipped: {exc.message}")
        return
    call_command("migrate", verbosity=0)

    def measure(cycle, name: str, target: float) -> None:
        board_pack_render(cycle)  # warm-up: the OS caches Chromium and plotly.js
        times, cpu, pages, size = [], [], 0, 0
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), _cpu()
            pack = board_pack_render(cycle)
            times.append(time.perf_counter() - start)
            cpu.append(_cpu() - start_cpu)
            pages, size = pack.pages, pack.size
        note = (
            f"cpu (with Chromium) {statistics.median(cpu):.1f} s, {pages} pages, "
            f"{size / 1024:.0f} KiB"
        )
        row(name, times, target=target, unit="s", note=note)

    def measure_again(cycle, name: str) -> None:
        """The button's second click with nothing changed: the cached pack (fingerprint
        query + cache read), against the print it replaces."""
        from django.contrib.auth import get_user_model

        from planning.services.board_pack import board_pack_cache_forget, board_pack_for_reader

        reader = get_user_model().objects.filter(is_superuser=True).first() or (
            get_user_model().objects.create_superuser("bench-reader", password="x")
        )
        board_pack_cache_forget()
        first = board_pack_for_reader(cycle=cycle, user=reader)
        times, cpu = [], []
        for _ in range(max(args.runs, 5)):
            start, start_cpu = time.perf_counter(), time.process_time()
            again = board_pack_for_reader(cycle=cycle, user=reader)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert again.data == first.data
        row(
            name,
            times,
            target=CACHED_TARGET_S,
            unit="s",
            note=f"cpu {statistics.median(cpu) * 1000:.0f} ms, same bytes",
        )

    call_command("load_demo", "--no-board-pack", verbosity=0)
    measure(cycle_current(), "board pack PDF, demo company", DEMO_TARGET_S)
    measure_again(cycle_current(), "board pack PDF again, nothing changed (demo)")

    from tests.dashboard_data import build_company
    from valuestreams.models import ValueStream

    ValueStream.objects.update(active=False)  # the pack shows the 20 streams alone

    month = timezone.localdate().replace(day=1)
    cycle = build_company(
        streams=args.streams,
        families=args.families,
        month=month.replace(year=month.year + 3),
        prefix="B",
    )
    measure(
        cycle,
        f"board pack PDF, {args.streams} streams x {args.families} families",
        STREAMS_TARGET_S,
    )


if __name__ == "__main__":
    main()
