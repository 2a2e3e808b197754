"""``python manage.py start_cycle YYYY-MM``: start a month's cycle from the last approved plan."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from planning.calendar import parse_month
from planning.selectors.cycles import company_zone
from planning.services.cycles import cycle_start
from sofp.errors import ApplicationError, command_error


class Command(BaseCommand):
    help = "Start a month's SOFP cycle: five scheduled steps, plan rolled forward."

    def add_arguments(self, parser) -> None:
        parser.add_argument("month", help="The cycle's month, YYYY-MM.")
        parser.add_argument("--horizon", type=int, default=None, help="Months (3–36).")
        parser.add_argument(
            "--user", default=None, help="Username recorded as the starter (must be allowed)."
        )

    def handle(self, *args, month: str, horizon: int | None, user: str | None, **options) -> None:
        first = parse_month(month)
        if first is None:
            raise CommandError(f"month: {month!r} is not a month (YYYY-MM).")
        starter = None
        if user:
            starter = get_user_model().objects.filter(username=user).first()
            if starter is None:
                raise CommandError(f"--user: unknown user {user!r}.")
        try:
            cycle, info = cycle_start(month=first, user=starter, horizon=horizon)
        except ApplicationError as exc:
            raise command_error(exc) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Started cycle {cycle.label} (horizon {cycle.horizon} months).")
        )
        tz = company_zone()
        for step in cycle.steps.order_by("number"):
            self.stdout.write(
                f"  {step.number}. {step.name}: meeting "
                f"{step.meeting_start.astimezone(tz):%a %Y-%m-%d %H:%M %Z}, inputs due "
                f"{step.input_deadline.astimezone(tz):%a %Y-%m-%d %H:%M %Z}"
            )
        if info.based_on:
            self.stdout.write(
                f"Rolled forward from {info.based_on.label}: {info.copied} values copied, "
                f"{info.extended} extended into the new last month(s), "
                f"{info.opening_inventory} opening inventories."
            )
            if info.clamped:
                self.stdout.write(
                    self.style.WARNING(
                        "Ending inventory was negative (a shortage) for "
                        + ", ".join(info.clamped)
                        + "; their opening inventory starts at 0."
                    )
                )
        else:
            self.stdout.write("No approved cycle before it: the plan starts empty.")
