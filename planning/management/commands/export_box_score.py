"""``python manage.py export_box_score --month YYYY-MM [--output FILE]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.calendar import parse_month
from planning.exports import box_score_csv
from planning.selectors.actuals import box_score_export_rows, refuse_open_month
from sofp.errors import ApplicationError, command_error


class Command(BaseCommand):
    help = (
        "Export the box score of a closed month: value_stream,month,measure,value (company "
        "rows with value_stream empty). CSV to stdout unless --output is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="The closed month, YYYY-MM.")
        parser.add_argument("--output", help="File to write; stdout without it.")

    def handle(self, *args, **options) -> None:
        month = parse_month(options["month"])
        if month is None:
            raise CommandError(f"--month {options['month']!r} is not a month; write YYYY-MM.")
        try:
            refuse_open_month(month)
        except ApplicationError as exc:
            raise command_error(exc) from None
        data = box_score_csv(box_score_export_rows(month=month))
        if options["output"]:
            Path(options["output"]).write_bytes(data)
            self.stderr.write(f"Box score {month:%Y-%m} written to {options['output']}.")
        else:
            self.stdout.write(data.decode("utf-8"), ending="")
