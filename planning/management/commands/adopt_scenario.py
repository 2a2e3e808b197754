"""``python manage.py adopt_scenario --cycle YYYY-MM NAME``: the plan takes the scenario's
inputs (one history entry per changed cell); adopting again changes nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.calendar import parse_month
from planning.selectors.plans import cycle_get_by_label
from planning.selectors.scenarios import scenario_get
from planning.services.scenarios import scenario_adopt
from sofp.errors import ApplicationError, command_error


class Command(BaseCommand):
    help = (
        "Adopt a scenario: the cycle's plan inputs (and prices) become the scenario's, "
        "each changed cell recorded as 'adopted from scenario NAME'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", required=True, help="The cycle's month, YYYY-MM.")
        parser.add_argument("name", help="The scenario's name.")

    def handle(self, *args, **options) -> None:
        label = options["cycle"]
        if parse_month(label) is None:
            raise CommandError(f"--cycle {label!r} is not a month; write YYYY-MM.")
        cycle = cycle_get_by_label(label)
        if cycle is None:
            raise CommandError(f"There is no cycle {label}.")
        try:
            scenario = scenario_get(cycle=cycle, name=options["name"])
            result = scenario_adopt(scenario=scenario, user=None)
        except ApplicationError as exc:
            raise command_error(exc) from None
        self.stdout.write(
            self.style.SUCCESS(f"Cycle {label}: scenario {scenario.name}: {result.summary()}.")
        )
