"""``python manage.py import_actuals FILE``: facts of past months, all or nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from planning.imports import parse_actuals
from planning.services.actuals import actuals_import
from sofp.errors import ApplicationError, command_error
from sofp.tables import add_file_arguments, input_file


class Command(BaseCommand):
    help = (
        "Import actuals (CSV or .xlsx: value_stream,product_family,month,measure,value) for "
        "months up to the current one. Bad input is rejected whole with every problem by "
        "line and column; importing the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_file_arguments(parser)

    def handle(self, *args, **options) -> None:
        path = options["file"]
        parsed = parse_actuals(data=input_file(path), filename=path)
        try:
            result = actuals_import(
                rows=parsed.rows,
                user=None,
                parse_errors=parsed.errors,
                dry_run=options["dry_run"],
            )
        except ApplicationError as exc:
            raise command_error(exc, source=path) from None
        self.stdout.write(f"Actuals: {result.summary()}.")
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was saved.")
        else:
            self.stdout.write(self.style.SUCCESS("Import done."))
