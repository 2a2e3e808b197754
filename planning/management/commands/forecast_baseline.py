"""``python manage.py forecast_baseline --cycle YYYY-MM``: the statistical baseline, inline."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from planning.selectors.baseline import baseline_summary
from planning.selectors.plans import cycle_get_by_label
from planning.services.baseline import baseline_compute
from sofp.errors import ApplicationError, command_error


class Command(BaseCommand):
    help = (
        "Compute a cycle's statistical baseline now (every family, in this process) and "
        "store it as statistical_baseline."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--cycle", required=True, help="The cycle's month, YYYY-MM.")
        parser.add_argument(
            "--jobs", type=int, default=None, help="Processes to use (default: every core)."
        )

    def handle(self, *args, cycle: str, jobs: int | None, **options) -> None:
        found = cycle_get_by_label(cycle)
        if found is None:
            raise CommandError(f"--cycle: no cycle {cycle!r} (YYYY-MM of an existing cycle).")
        if jobs is not None and jobs < 1:
            raise CommandError("--jobs: at least 1.")
        started = time.perf_counter()
        try:
            run = baseline_compute(cycle=found, user=None, n_jobs=jobs)
        except ApplicationError as exc:
            raise command_error(exc) from exc
        summary = baseline_summary(cycle=found)
        methods = ", ".join(f"{m} {n}" for m, n in summary.methods.items()) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Baseline of {found.label}: {summary.with_baseline} of {run.families_total} "
                f"families forecast ({methods}) in {time.perf_counter() - started:.1f} s."
            )
        )
        missing = run.families_total - summary.with_baseline
        if missing:
            self.stdout.write(
                f"{missing} famil{'y has' if missing == 1 else 'ies have'} no baseline "
                "(fewer than 3 months of sales history)."
            )
