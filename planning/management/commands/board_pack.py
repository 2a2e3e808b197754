"""``python manage.py board_pack --cycle YYYY-MM --output FILE.pdf [--archive]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.models import BoardPack
from planning.selectors.plans import cycle_get_by_label, cycle_missing_message
from planning.services.board_pack import (
    board_pack_archive,
    board_pack_render,
    board_pack_stored,
)
from sofp.errors import ApplicationError, command_error


class Command(BaseCommand):
    help = (
        "Write the step-5 board pack of a cycle as a PDF (A4 landscape, printed by headless "
        "Chromium). An approved cycle gives its archived pack (archived now if missing); "
        "an open one a print of the plan as it stands. --archive stores that print as the "
        "cycle's pre-read (once; later runs return the stored one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", required=True, help="The cycle, YYYY-MM.")
        parser.add_argument("--output", required=True, help="The PDF file to write.")
        parser.add_argument(
            "--archive",
            action="store_true",
            help="Keep an open cycle's pack as its pre-read (what the reminder sends).",
        )

    def handle(self, *args, **options) -> None:
        label = options["cycle"]
        cycle = cycle_get_by_label(label)
        if cycle is None:
            raise CommandError(cycle_missing_message(label))
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"--output: the folder {output.parent} does not exist.")
        try:
            if cycle.is_frozen:
                pack = board_pack_stored(
                    board_pack_archive(cycle=cycle, kind=BoardPack.Kind.APPROVED)
                )
            elif options["archive"]:
                pack = board_pack_stored(
                    board_pack_archive(cycle=cycle, kind=BoardPack.Kind.PRE_READ)
                )
            else:
                pack = board_pack_render(cycle)
        except ApplicationError as exc:
            raise command_error(exc) from None
        output.write_bytes(pack.data)
        kept = f", archived as {pack.archived.get_kind_display()}" if pack.archived else ""
        self.stdout.write(
            f"Board pack {cycle.label} written to {output}: {pack.pages} pages, "
            f"{pack.size:,} bytes, SHA-256 {pack.sha256}{kept}."
        )
