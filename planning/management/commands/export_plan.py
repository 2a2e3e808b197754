"""``python manage.py export_plan --cycle YYYY-MM [--scenario NAME] [--layout long|wide]
[--format csv|xlsx] [--output FILE]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.exports import LAYOUTS, LONG, export_layout_bytes
from planning.management.cycle_option import cycle_option
from planning.selectors.plans import cycle_export_frame
from planning.selectors.scenarios import cycle_with_scenario
from sofp.errors import ApplicationError, command_error
from sofp.tables import CSV, FORMATS, XLSX


class Command(BaseCommand):
    help = (
        "Export a cycle's plan in the long format: every input measure plus the computed "
        "ones. CSV goes to stdout unless --output is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", required=True, help="The cycle's month, YYYY-MM.")
        parser.add_argument(
            "--format", choices=FORMATS, help="csv (default, or from --output's suffix) or xlsx."
        )
        parser.add_argument("--output", help="File to write; CSV goes to stdout without it.")
        parser.add_argument("--scenario", default="", help="Export this scenario of the cycle.")
        parser.add_argument(
            "--layout",
            choices=LAYOUTS,
            default=LONG,
            help="long (the file contract, default) or wide (the grid's layout: one row "
            "per stream, family and measure, one column per month).",
        )

    def handle(self, *args, **options) -> None:
        label, output = options["cycle"], options["output"]
        cycle = cycle_option(label)
        try:
            cycle = cycle_with_scenario(cycle=cycle, name=options["scenario"])
        except ApplicationError as exc:
            raise command_error(exc) from None
        fmt = options["format"] or (XLSX if (output or "").lower().endswith(".xlsx") else CSV)
        if fmt == XLSX and not output:
            raise CommandError("An .xlsx export is binary: give --output FILE.")
        data = export_layout_bytes(
            cycle_export_frame(cycle=cycle), fmt=fmt, layout=options["layout"]
        )
        if output:
            Path(output).write_bytes(data)
            self.stderr.write(f"Cycle {label} written to {output} ({len(data):,} bytes).")
        else:
            self.stdout.write(data.decode("utf-8"), ending="")
