"""``python manage.py import_assumptions FILE --cycle YYYY-MM``: the register, all or nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from planning.management.cycle_option import cycle_option
from planning.services.assumptions import assumptions_import
from sofp.errors import ApplicationError, command_error
from sofp.tables import input_file


class Command(BaseCommand):
    help = (
        "Import a cycle's assumptions (CSV or .xlsx with the register's export columns: "
        "value_stream,product_family,measure,first_month,last_month,text,owner,impact,status; "
        "id and version to change existing ones). Every problem by line and column; nothing "
        "is written unless the whole file is good."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--cycle", required=True, help="YYYY-MM")

    def handle(self, *args, **options) -> None:
        path = options["file"]
        cycle = cycle_option(options["cycle"])
        try:
            result = assumptions_import(
                cycle=cycle, data=input_file(path), filename=path, user=None
            )
        except ApplicationError as exc:
            raise command_error(exc, source=path) from None
        self.stdout.write(self.style.SUCCESS(f"Assumptions: {result.summary()}."))
