from django.core.management.base import BaseCommand

from planning.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo company, value streams, a year of history and users (idempotent)."

    def handle(self, *args, **options) -> None:
        lines = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Sign in as:"))
        for line in lines:
            self.stdout.write(f"  {line}")
