"""``python manage.py import_master FILE``: create or update value streams and families."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from sofp.errors import ApplicationError, command_error
from sofp.tables import add_file_arguments, input_file
from valuestreams.imports import parse_master
from valuestreams.services import master_import


class Command(BaseCommand):
    help = (
        "Import master data (CSV or .xlsx with value_stream,value_stream_name,product_family,"
        "family_name,unit_price,unit_material_cost,hours_per_unit,dos_min,dos_max): creates "
        "or updates value streams and product families, all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_file_arguments(parser)

    def handle(self, *args, **options) -> None:
        path = options["file"]
        parsed = parse_master(data=input_file(path), filename=path)
        try:
            result = master_import(
                rows=parsed.rows, parse_errors=parsed.errors, dry_run=options["dry_run"]
            )
        except ApplicationError as exc:
            raise command_error(exc, source=path) from None
        self.stdout.write(f"Master data: {result.summary()}.")
        if result.dry_run:
            self.stdout.write("Dry run: nothing was saved.")
        else:
            self.stdout.write(self.style.SUCCESS("Import done."))
