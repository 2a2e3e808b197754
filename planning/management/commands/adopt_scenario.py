"""``python manage.py adopt_scenario --cycle YYYY-MM NAME``: the plan takes the scenario's
inputs (one history entry per changed cell); adopting again changes nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from planning.management.cycle_option import cycle_option
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
        cycle = cycle_option(label)
        try:
            scenario = scenario_get(cycle=cycle, name=options["name"])
            result = scenario_adopt(scenario=scenario, user=None)
        except ApplicationError as exc:
            raise command_error(exc) from None
        self.stdout.write(
            self.style.SUCCESS(f"Cycle {label}: scenario {scenario.name}: {result.summary()}.")
        )
