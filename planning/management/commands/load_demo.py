from django.core.management.base import BaseCommand

from planning.demo import demo_board_pack, demo_load


class Command(BaseCommand):
    help = "Load the demo company, value streams, a year of history and users (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-board-pack",
            action="store_true",
            help="Do not print and archive the latest approved cycle's board pack.",
        )

    def handle(self, *args, **options) -> None:
        lines = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Sign in as:"))
        for line in lines:
            self.stdout.write(f"  {line}")
        if not options["no_board_pack"]:
            self.stdout.write(demo_board_pack())
