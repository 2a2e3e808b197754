"""The ``--cycle YYYY-MM`` option of the planning commands, read one way."""

from __future__ import annotations

from django.core.management.base import CommandError

from planning.calendar import parse_month
from planning.models import PlanningCycle
from planning.selectors.plans import cycle_get_by_label


def cycle_option(label: str) -> PlanningCycle:
    """The cycle ``--cycle`` names; a label that is not a month, or a month without a
    cycle, is a command error that says which."""
    if parse_month(label) is None:
        raise CommandError(f"--cycle {label!r} is not a month; write YYYY-MM.")
    cycle = cycle_get_by_label(label)
    if cycle is None:
        raise CommandError(f"There is no cycle {label}.")
    return cycle
