"""``python manage.py import_plan FILE --cycle YYYY-MM [--scenario NAME]``: all or nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.calendar import parse_month
from planning.imports import parse_plan
from planning.services.plan_import import plan_import_for_month
from sofp.errors import ApplicationError, command_error
from sofp.tables import add_file_arguments, input_file


class Command(BaseCommand):
    help = (
        "Import a long plan file (CSV or .xlsx: value_stream,product_family,month,measure,value) "
        "into a cycle, creating the cycle with its five steps if it does not exist. Bad input "
        "is rejected whole with every problem listed; nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_file_arguments(parser)
        parser.add_argument("--cycle", required=True, help="The cycle's month, YYYY-MM.")
        parser.add_argument(
            "--scenario",
            default="",
            help="Import into this scenario of the cycle (created from the plan if missing).",
        )

    def handle(self, *args, **options) -> None:
        month = parse_month(options["cycle"])
        if month is None:
            raise CommandError(f"--cycle {options['cycle']!r} is not a month; write YYYY-MM.")
        path = options["file"]
        parsed = parse_plan(data=input_file(path), filename=path)
        try:
            result = plan_import_for_month(
                month=month,
                rows=parsed.rows,
                user=None,
                dry_run=options["dry_run"],
                parse_errors=parsed.errors,
                computed_skipped=parsed.computed_skipped,
                scenario=options["scenario"],
            )
        except ApplicationError as exc:
            raise command_error(exc, source=path) from None
        if parsed.layout == "wide":
            self.stdout.write("Grid layout recognised: one row per measure, one column per month.")
        if result.cycle_created:
            verb = "would be created" if result.dry_run else "created"
            self.stdout.write(f"Cycle {month:%Y-%m} {verb} with its five steps.")
        where = f"Cycle {month:%Y-%m}"
        if options["scenario"]:
            where += f", scenario {options['scenario']}"
            if result.scenario_created:
                verb = "would be created" if result.dry_run else "created"
                self.stdout.write(f"Scenario {options['scenario']} {verb} from the plan.")
        self.stdout.write(f"{where}: {result.summary()}.")
        if result.computed_skipped:
            self.stdout.write(f"{result.computed_skipped} row(s) of computed measures skipped.")
        if result.dry_run:
            self.stdout.write("Dry run: nothing was saved.")
        else:
            self.stdout.write(self.style.SUCCESS("Import done."))
