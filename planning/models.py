"""The monthly planning cycle: company settings, cycles, steps, decisions, plan values.

Also the vocabulary of the cycle, defined once: the measures as choices, the statuses,
the step owners and the five steps (:data:`STEPS`).

Workflows live in ``planning/services``; these classes hold fields and the database
constraints that must never be broken, whatever path writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact

from planning.calendar import month_add
from planning.measures import (
    ACTUAL_FACTS,
    ACTUAL_FAMILY_FACTS,
    ACTUAL_LABELS,
    ACTUAL_STREAM_FACTS,
    COMPANY_INPUT_MEASURES,
    DEFAULT_HORIZON,
    FAMILY_INPUT_MEASURES,
    INPUT_MEASURES,
    MAX_HORIZON,
    MEASURE_LABELS,
    MIN_HORIZON,
    STREAM_INPUT_MEASURES,
)
from sofp.dbfunctions import DayOfMonth

USER = settings.AUTH_USER_MODEL


# The input measures as model choices, built from planning.measures (spelled there once).
Measure = models.TextChoices(
    "Measure", [(name.upper(), (name, MEASURE_LABELS[name])) for name in INPUT_MEASURES]
)


ActualMeasure = models.TextChoices(
    "ActualMeasure", [(name.upper(), (name, ACTUAL_LABELS[name])) for name in ACTUAL_FACTS]
)


class CycleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_PROGRESS = "in_progress", "In progress"
    APPROVED = "approved", "Approved (frozen)"


class StepStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class DecisionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class StepOwnerRole(models.TextChoices):
    """Who owns a step: a company role, or the value stream managers."""

    SALES = "sales", "Sales & marketing"
    VALUE_STREAM_MANAGERS = "vs_manager", "Value stream managers"
    FINANCE = "finance", "Finance"
    EXECUTIVE = "executive", "Executives"


@dataclass(frozen=True)
class StepSpec:
    number: int
    name: str
    owner_role: str
    output: str
    agenda: str


STEPS: tuple[StepSpec, ...] = (
    StepSpec(
        1,
        "Demand planning",
        StepOwnerRole.SALES,
        "The demand plan",
        "1. Last month's actual sales against forecast (accuracy, bias)\n"
        "2. Forecast per value stream and product family over the horizon, in units\n"
        "3. Assumptions behind each change\n"
        "4. New product introductions from the NPD value stream (dates, volumes)",
    ),
    StepSpec(
        2,
        "Value stream operations planning",
        StepOwnerRole.VALUE_STREAM_MANAGERS,
        "Production and capacity plan",
        "1. Production plan, inventory and days of supply per month\n"
        "2. Capacity: required against available hours; the bottleneck\n"
        "3. Planned improvements, staffing and equipment changes, with assumptions\n"
        "4. Months short of or with spare capacity",
    ),
    StepSpec(
        3,
        "SOFP planning meeting",
        StepOwnerRole.VALUE_STREAM_MANAGERS,
        "The agreed sales and operations plan",
        "1. Reconcile demand with capacity across value streams\n"
        "2. Resolve shortages and overloads\n"
        "3. Agree the sales and operations plan",
    ),
    StepSpec(
        4,
        "Financial planning",
        StepOwnerRole.FINANCE,
        "The financial forecast",
        "1. Value stream P&L straight from the agreed plan\n"
        "2. Inventory value and cash flow\n"
        "3. Company roll-up with sustaining costs",
    ),
    StepSpec(
        5,
        "SOFP executive meeting",
        StepOwnerRole.EXECUTIVE,
        "Approved plan and decisions",
        "1. Box score per value stream and for the company\n"
        "2. Exceptions, worst first\n"
        "3. Changes since last month's approved plan\n"
        "4. Decisions with owners and due dates\n"
        "5. Approve the plan",
    ),
)
STEP_BY_NUMBER: dict[int, StepSpec] = {s.number: s for s in STEPS}


class Company(models.Model):
    """Company-wide settings: one row (``Company.get()``)."""

    name = models.CharField(max_length=200, default="Our company")
    time_zone = models.CharField(max_length=64, default="Europe/Amsterdam")
    currency = models.CharField(
        max_length=3, default="EUR", help_text="ISO code shown on every money figure, e.g. EUR."
    )
    meeting_start = models.TimeField(default=dt.time(9, 0))
    meeting_minutes = models.PositiveSmallIntegerField(default=90)
    input_deadline = models.TimeField(
        default=dt.time(12, 0), help_text="Time on the working day before each meeting."
    )
    reminder_hours_before = models.JSONField(
        default=list, blank=True, help_text="Hours before deadlines and meetings, e.g. [24, 2]."
    )
    utilization_warn = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0.90"))
    utilization_over = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("1.00"))
    demand_change_threshold = models.DecimalField(
        max_digits=6, decimal_places=4, default=Decimal("0.10")
    )

    class Meta:
        verbose_name_plural = "company"
        constraints = [
            models.CheckConstraint(
                condition=Q(utilization_warn__gt=0) & Q(utilization_over__gt=0),
                name="company_thresholds_positive",
            ),
            models.CheckConstraint(
                condition=Q(demand_change_threshold__gte=0), name="company_demand_change_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls) -> Company:
        """The company's settings. Reading never writes: the row comes from a data
        migration (or the demo); without one, the defaults, unsaved."""
        company = cls.objects.order_by("pk").first()
        return company or cls(reminder_hours_before=[24, 2])

    def clean(self) -> None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError({"time_zone": f"Unknown time zone {self.time_zone!r}."}) from exc
        hours = self.reminder_hours_before
        if not isinstance(hours, list) or not all(
            isinstance(h, int | float) and h > 0 for h in hours
        ):
            raise ValidationError(
                {"reminder_hours_before": "A list of positive numbers of hours, e.g. [24, 2]."}
            )


class Holiday(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["company", "date"], name="holiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class PlanningCycle(models.Model):
    """One month's SOFP cycle; approved means frozen, forever."""

    month = models.DateField(unique=True, help_text="First day of the cycle's month.")
    horizon = models.PositiveSmallIntegerField(default=DEFAULT_HORIZON)
    status = models.CharField(max_length=12, choices=CycleStatus.choices, default="draft")
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approval_override_reason = models.TextField(blank=True)
    approval_note = models.TextField(
        blank=True, help_text="What the executives noted when they approved (step 5)."
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(horizon__gte=MIN_HORIZON) & Q(horizon__lte=MAX_HORIZON),
                name="cycle_horizon_3_to_36",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="cycle_month_first_day"),
            models.CheckConstraint(
                condition=Q(status__in=CycleStatus.values), name="cycle_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_at__isnull=False),
                name="cycle_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def is_frozen(self) -> bool:
        return self.status == CycleStatus.APPROVED

    def horizon_months(self) -> list[dt.date]:
        """The first day of each month of the horizon, in order."""
        return [month_add(self.month, i) for i in range(self.horizon)]

    def in_scenario(self, scenario: Scenario | None) -> PlanningCycle:
        """This cycle as seen through ``scenario`` (None: the plan): a copy of the
        instance that the plan readers (projection, grid, export, API) and the one write
        path serve from the scenario's cells and master copy instead of the plan's."""
        import copy

        scoped = copy.copy(self)
        scoped.scenario_scope = scenario
        return scoped


def cycle_scenario(cycle: PlanningCycle) -> Scenario | None:
    """The scenario a cycle instance is seen through (``PlanningCycle.in_scenario``)."""
    return getattr(cycle, "scenario_scope", None)


class StepTemplate(models.Model):
    """Per-step defaults copied into each new cycle (name, owner, agenda)."""

    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=200)
    owner_role = models.CharField(max_length=20, choices=StepOwnerRole.choices)
    agenda = models.TextField(blank=True)
    meeting_minutes = models.PositiveSmallIntegerField(default=90)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=5), name="steptemplate_number_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class CycleStep(models.Model):
    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    owner_role = models.CharField(max_length=20, choices=StepOwnerRole.choices)
    meeting_start = models.DateTimeField()
    meeting_end = models.DateTimeField()
    input_deadline = models.DateTimeField()
    agenda = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=StepStatus.choices, default=StepStatus.NOT_STARTED
    )
    minutes = models.TextField(blank=True)
    participants = models.ManyToManyField(USER, blank=True, related_name="cycle_steps")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cycle", "number"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "number"], name="step_unique_per_cycle"),
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=5), name="step_number_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(meeting_end__gte=F("meeting_start")), name="step_meeting_ends_after"
            ),
            models.CheckConstraint(
                condition=Q(input_deadline__lte=F("meeting_start")),
                name="step_deadline_before_meeting",
            ),
            models.CheckConstraint(
                condition=Q(status__in=StepStatus.values), name="step_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.label} step {self.number}: {self.name}"


class Decision(models.Model):
    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="decisions")
    step = models.ForeignKey(
        CycleStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    text = models.TextField()
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions_owned"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.OPEN
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-cycle__month", "due_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DecisionStatus.values), name="decision_status_valid"
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]


SCENARIO_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


class ScenarioStatus(models.TextChoices):
    OPEN = "open", "Open"
    FROZEN = "frozen", "Frozen (the cycle was approved)"


class Scenario(models.Model):
    """A named copy of a cycle's plan inputs and master copy ("add a second shift").

    Its cells are :class:`ScenarioCell` rows, its prices ``CycleFamily`` rows and its
    history ``PlanValueChange`` rows carrying this scenario (the plan's carry none; their
    default managers are plan-only), so a scenario never changes the plan.
    Approval freezes the cycle's scenarios with it.
    """

    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(max_length=40)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=ScenarioStatus.choices, default=ScenarioStatus.OPEN
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    adopted_at = models.DateTimeField(null=True, blank=True)
    adopted_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["cycle", "name"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "name"], name="scenario_unique_name"),
            models.CheckConstraint(
                condition=Q(name__regex=SCENARIO_NAME_PATTERN), name="scenario_name_pattern"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ScenarioStatus.values), name="scenario_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.label}/{self.name}"

    @property
    def is_frozen(self) -> bool:
        return self.status == ScenarioStatus.FROZEN or self.cycle.is_frozen


class PlanOnlyManager(models.Manager):
    """The plan's rows only (``scenario`` NULL): the default manager of the tables that
    scenarios share (history, master copies), so no plan read can pick up a scenario's
    row by forgetting a filter. Scenario-aware code uses ``all_objects`` and filters
    ``scenario=`` itself."""

    def get_queryset(self):
        return super().get_queryset().filter(scenario__isnull=True)


class AllRowsManager(models.Manager):
    """Every row, the plan's and every scenario's (scenario-aware code only)."""


_SCENARIO_FK = dict(null=True, blank=True, on_delete=models.CASCADE, related_name="+")


_FAMILY_SCOPE = (
    Q(measure__in=FAMILY_INPUT_MEASURES)
    & Q(product_family__isnull=False)
    & Q(value_stream__isnull=False)
)
_STREAM_SCOPE = (
    Q(measure__in=STREAM_INPUT_MEASURES)
    & Q(product_family__isnull=True)
    & Q(value_stream__isnull=False)
)
_COMPANY_SCOPE = (
    Q(measure__in=COMPANY_INPUT_MEASURES)
    & Q(product_family__isnull=True)
    & Q(value_stream__isnull=True)
)


class PlanValue(models.Model):
    """One cell of a cycle's plan: cycle × value stream × family × month × measure.

    ``version`` grows by one on each change so concurrent editors can detect that
    the value they saw is stale. Family rows also carry their value stream so that
    permission filters need no join.

    Versions never restart: clearing a cell keeps its row as a *tombstone* (``value``
    NULL, the version one higher), so writing it again continues the sequence and a
    write carrying a version read before the clear is a conflict. Everything that reads
    values skips tombstones (:attr:`PlanValue.filled`); the database allows NULL only on
    a row that has had a value (version 2 or more).
    """

    # The cycle, stream and family are checked once per statement, not per row (on
    # PostgreSQL triggers of migration 0021 stand in for the foreign keys: the same rule,
    # the same lock, the same refusal of a delete; SQLite keeps its keys): an import
    # writes tens of thousands of cells naming the same few rows.
    # No index of its own: ``planvalue_cycle_stream`` starts with the cycle.
    cycle = models.ForeignKey(
        PlanningCycle,
        on_delete=models.CASCADE,
        related_name="values",
        db_index=False,
        db_constraint=False,
    )
    value_stream = models.ForeignKey(
        "valuestreams.ValueStream",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plan_values",
        db_constraint=False,
    )
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plan_values",
        db_constraint=False,
    )
    month = models.DateField()
    measure = models.CharField(max_length=24, choices=Measure.choices)
    value = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True, help_text="NULL: cleared."
    )
    version = models.PositiveIntegerField(default=1)
    comment = models.TextField(blank=True)
    # No index: nothing reads cells by who wrote them (only deleting a user does, rarely),
    # and every index costs each write of a bulk import.
    updated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    updated_at = models.DateTimeField(auto_now=True)

    # The rows that hold a value (not tombstones): every reader filters with this.
    filled = Q(value__isnull=False)

    # What makes a cell: its cycle, where (stream, family or neither), month and measure.
    KEY_FIELDS = ("cycle", "value_stream", "product_family", "month", "measure")

    # On PostgreSQL the table keeps half of each page free (fillfactor 50, migration
    # 0019): re-writing a cell's value, version, author and time then stays on its page
    # and touches no index (a "HOT" update), which is most of a re-import's cost.

    class Meta:
        ordering = ["cycle", "value_stream", "product_family", "month", "measure"]
        indexes = [
            models.Index(fields=["cycle", "value_stream"], name="planvalue_cycle_stream"),
            models.Index(fields=["measure", "month"], name="planvalue_measure_month"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product_family", "month", "measure"],
                condition=Q(product_family__isnull=False),
                name="planvalue_unique_family_cell",
            ),
            models.UniqueConstraint(
                fields=["cycle", "value_stream", "month", "measure"],
                condition=Q(product_family__isnull=True) & Q(value_stream__isnull=False),
                name="planvalue_unique_stream_cell",
            ),
            models.UniqueConstraint(
                fields=["cycle", "month", "measure"],
                condition=Q(product_family__isnull=True) & Q(value_stream__isnull=True),
                name="planvalue_unique_company_cell",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="planvalue_nonnegative"),
            # DayOfMonth, not month__day: SQLite evaluates it itself, not through a
            # Python function per inserted row.
            models.CheckConstraint(
                condition=Exact(DayOfMonth("month"), 1), name="planvalue_month_first_day"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="planvalue_version_positive"),
            models.CheckConstraint(
                condition=Q(value__isnull=False) | Q(version__gte=2),
                name="planvalue_null_only_tombstone",
            ),
            models.CheckConstraint(
                condition=_FAMILY_SCOPE | _STREAM_SCOPE | _COMPANY_SCOPE,
                name="planvalue_scope_matches_measure",
            ),
        ]

    def __str__(self) -> str:
        who = self.product_family_id or self.value_stream_id or "company"
        return f"{self.cycle_id}/{who}/{self.month:%Y-%m}/{self.measure}={self.value}"


class ScenarioCell(models.Model):
    """A scenario's cell: the same columns and rules as :class:`PlanValue`, in a lean
    table of its own. Creating a scenario copies every plan cell here in one
    ``INSERT … SELECT``; per copied row the database then maintains one unique index
    and checks no foreign key (the relations are declared without database constraints
    and without indexes: the rows are only ever read by scenario, written by the one
    write path and deleted with their scenario by ``services.scenarios``). Everything
    that reads or writes a cycle's cells through ``PlanningCycle.in_scenario`` uses this
    table instead of the plan's; nothing that reads the plan ever sees it.
    """

    _LEAN = dict(db_constraint=False, db_index=False)

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="cells", **_LEAN)
    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="+", **_LEAN)
    value_stream = models.ForeignKey(
        "valuestreams.ValueStream",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        **_LEAN,
    )
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        **_LEAN,
    )
    month = models.DateField()
    measure = models.CharField(max_length=24, choices=Measure.choices)
    value = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True, help_text="NULL: cleared."
    )
    version = models.PositiveIntegerField(default=1)
    comment = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", **_LEAN
    )
    updated_at = models.DateTimeField(auto_now=True)

    filled = Q(value__isnull=False)
    KEY_FIELDS = ("cycle", "value_stream", "product_family", "month", "measure")

    class Meta:
        ordering = ["scenario", "value_stream", "product_family", "month", "measure"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "product_family", "month", "measure"],
                condition=Q(product_family__isnull=False),
                name="scenariocell_unique_family_cell",
            ),
            models.UniqueConstraint(
                fields=["scenario", "value_stream", "month", "measure"],
                condition=Q(product_family__isnull=True) & Q(value_stream__isnull=False),
                name="scenariocell_unique_stream_cell",
            ),
            models.UniqueConstraint(
                fields=["scenario", "month", "measure"],
                condition=Q(product_family__isnull=True) & Q(value_stream__isnull=True),
                name="scenariocell_unique_company_cell",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="scenariocell_nonnegative"),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="scenariocell_version_positive"
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=False) | Q(version__gte=2),
                name="scenariocell_null_only_tombstone",
            ),
            models.CheckConstraint(
                condition=_FAMILY_SCOPE | _STREAM_SCOPE | _COMPANY_SCOPE,
                name="scenariocell_scope_matches_measure",
            ),
        ]

    def __str__(self) -> str:
        who = self.product_family_id or self.value_stream_id or "company"
        return f"{self.scenario_id}/{who}/{self.month:%Y-%m}/{self.measure}={self.value}"


class PlanValueChange(models.Model):
    """History of a cell: who changed it, when, from what to what, and through which path."""

    class Source(models.TextChoices):
        GRID = "grid", "Grid"
        IMPORT = "import", "Import"
        API = "api", "API"
        ROLL_FORWARD = "roll_forward", "Roll forward"
        ADMIN = "admin", "Admin"
        DEMO = "demo", "Demo data"
        BASELINE = "baseline", "Statistical baseline"
        USE_BASELINE = "use_baseline", "Demand copied from the baseline"
        SCENARIO_CREATE = "scenario", "Scenario created from the plan"
        ADOPT = "adopt", "Adopted from a scenario"
        USE_RAMP = "use_ramp", "Demand copied from the launch ramp"
        ACTUALS = "actuals", "Actual sales from the actuals store"

    # Checked once per statement, as the cell's (migration 0021).
    cycle = models.ForeignKey(
        PlanningCycle, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # Indexed only where set (``change_scenario``): the plan's history (NULL, nearly
    # every row an import writes) is never looked up through it.
    scenario = models.ForeignKey(
        Scenario, **_SCENARIO_FK, db_index=False, help_text="NULL: the plan itself."
    )
    # No index of its own: ``change_cell_time`` starts with the cell.
    plan_value = models.ForeignKey(
        PlanValue,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
        db_index=False,
    )
    value_stream = models.ForeignKey(
        "valuestreams.ValueStream",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
    )
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
    )
    month = models.DateField()
    measure = models.CharField(max_length=24, choices=Measure.choices)
    old_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    new_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    # A comment change is history too (old → new); the value then stays as it was.
    # (Database defaults: the bulk write path inserts history rows with plain SQL.)
    comment_changed = models.BooleanField(db_default=False)
    old_comment = models.TextField(blank=True, db_default="")
    new_comment = models.TextField(blank=True, db_default="")
    version = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.GRID)
    # Indexed only where set (``change_changed_by``): deleting a user finds its rows;
    # nothing looks up the rows an operator's command (NULL) wrote.
    changed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    # "adopted from scenario NAME" (adoption), else empty.
    note = models.CharField(max_length=120, blank=True, db_default="")

    objects = PlanOnlyManager()
    all_objects = AllRowsManager()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [
            models.Index(fields=["plan_value", "-changed_at"], name="change_cell_time"),
            models.Index(
                fields=["scenario"], condition=Q(scenario__isnull=False), name="change_scenario"
            ),
            models.Index(
                fields=["changed_by"],
                condition=Q(changed_by__isnull=False),
                name="change_changed_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure} {self.month:%Y-%m}: {self.old_value} → {self.new_value}"


class Actual(models.Model):
    """A fact of a month (SOFP.md "Actuals"): per family or per value stream, kept once
    whatever the cycle. Family rows carry their stream too (rights filter without a join).
    ``version`` grows on every change, as for plan values."""

    value_stream = models.ForeignKey(
        "valuestreams.ValueStream", on_delete=models.PROTECT, related_name="actuals"
    )
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actuals",
    )
    month = models.DateField()
    measure = models.CharField(max_length=32, choices=ActualMeasure.choices)
    value = models.DecimalField(max_digits=20, decimal_places=6)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["month", "value_stream", "product_family", "measure"]
        indexes = [models.Index(fields=["measure", "month"], name="actual_measure_month")]
        constraints = [
            models.UniqueConstraint(
                fields=["product_family", "month", "measure"],
                condition=Q(product_family__isnull=False),
                name="actual_unique_family_cell",
            ),
            models.UniqueConstraint(
                fields=["value_stream", "month", "measure"],
                condition=Q(product_family__isnull=True),
                name="actual_unique_stream_cell",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="actual_nonnegative"),
            models.CheckConstraint(condition=Q(month__day=1), name="actual_month_first_day"),
            models.CheckConstraint(condition=Q(version__gte=1), name="actual_version_positive"),
            models.CheckConstraint(
                condition=(Q(measure__in=ACTUAL_FAMILY_FACTS) & Q(product_family__isnull=False))
                | (Q(measure__in=ACTUAL_STREAM_FACTS) & Q(product_family__isnull=True)),
                name="actual_scope_matches_measure",
            ),
        ]

    def __str__(self) -> str:
        who = self.product_family_id or self.value_stream_id
        return f"actual/{who}/{self.month:%Y-%m}/{self.measure}={self.value}"


class ActualChange(models.Model):
    """History of an actual: who changed it, when, from what to what, by which path."""

    actual = models.ForeignKey(
        Actual, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    value_stream = models.ForeignKey("valuestreams.ValueStream", on_delete=models.CASCADE)
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily", null=True, blank=True, on_delete=models.CASCADE
    )
    month = models.DateField()
    measure = models.CharField(max_length=32, choices=ActualMeasure.choices)
    old_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    new_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=16, default="page")
    changed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["actual", "-changed_at"], name="actualchange_cell_time")]

    def __str__(self) -> str:
        return f"{self.measure} {self.month:%Y-%m}: {self.old_value} → {self.new_value}"


class AuditEvent(models.Model):
    """Who changed a status, minutes or a decision, and when."""

    cycle = models.ForeignKey(
        PlanningCycle, null=True, blank=True, on_delete=models.CASCADE, related_name="audit"
    )
    object_type = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=40)
    field = models.CharField(max_length=40, blank=True)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)
    note = models.TextField(blank=True)
    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_type}"


class EmptyCellComment(models.Model):
    """A comment on a plan cell that holds no value yet ("waiting for ERP").

    Kept apart from ``PlanValue`` so an empty cell stays empty (never a 0 in the plan);
    the grid shows it like any cell's comment, the stored value's own comment winning
    once the cell gets one.
    """

    cycle = models.ForeignKey(
        PlanningCycle, on_delete=models.CASCADE, related_name="empty_cell_comments"
    )
    value_stream = models.ForeignKey(
        "valuestreams.ValueStream",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    month = models.DateField()
    measure = models.CharField(max_length=24, choices=Measure.choices)
    text = models.TextField()
    updated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product_family", "month", "measure"],
                condition=Q(product_family__isnull=False),
                name="empty_comment_unique_family_cell",
            ),
            models.UniqueConstraint(
                fields=["cycle", "value_stream", "month", "measure"],
                condition=Q(product_family__isnull=True) & Q(value_stream__isnull=False),
                name="empty_comment_unique_stream_cell",
            ),
            models.UniqueConstraint(
                fields=["cycle", "month", "measure"],
                condition=Q(product_family__isnull=True) & Q(value_stream__isnull=True),
                name="empty_comment_unique_company_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id} {self.measure} {self.month:%Y-%m}: {self.text[:40]}"


class ExceptionAcknowledgement(models.Model):
    """A step-5 exception the meeting has seen and accepted, with why (kept per cycle).

    ``key`` names the exception, not its number (``kind:stream:family:YYYY-MM``), so the
    acknowledgement stays while the value moves and goes with the cycle when it freezes.
    """

    cycle = models.ForeignKey(
        PlanningCycle, on_delete=models.CASCADE, related_name="exception_acknowledgements"
    )
    key = models.CharField(max_length=200)
    note = models.TextField(blank=True)
    acknowledged_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField()

    class Meta:
        ordering = ["cycle", "key"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "key"], name="exception_ack_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.label} {self.key}"


class Notification(models.Model):
    """A message in the user's in-app list (reminders and the like)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    # What it is about, so it clears when its cause ends (step done, decision closed).
    step = models.ForeignKey(
        CycleStep, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.title


class ReminderDelivery(models.Model):
    """One reminder to one recipient: the unique ``key`` makes sending exactly-once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    step = models.ForeignKey(
        CycleStep, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    recipient = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="reminders")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="A sender holds this row until then (a lease)."
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "reminder deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "failed"]),
                name="reminder_status_valid",
            )
        ]

    def __str__(self) -> str:
        return self.key


class CycleFamily(models.Model):
    """The cycle's own copy of one family's master data (``Master data belongs to the
    cycle``): the projection reads this, never the live master, so a frozen plan's
    revenue, costs and hours never change whatever happens to the master later.

    Open cycles follow the master (``planning.services.cycle_master``); frozen ones keep
    the copy they were approved with.
    """

    # The master's "in use" check skips copies: a family may still move streams, and
    # only open cycles' copies follow it (frozen ones keep their stream).
    MASTER_COPY = True

    cycle = models.ForeignKey(
        PlanningCycle, on_delete=models.CASCADE, related_name="master_families"
    )
    scenario = models.ForeignKey(Scenario, **_SCENARIO_FK, help_text="NULL: the plan's copy.")
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily", on_delete=models.PROTECT, related_name="cycle_copies"
    )
    value_stream = models.ForeignKey(
        "valuestreams.ValueStream", on_delete=models.PROTECT, related_name="+"
    )
    unit_price = models.DecimalField(max_digits=16, decimal_places=4)
    unit_material_cost = models.DecimalField(max_digits=16, decimal_places=4)
    hours_per_unit = models.DecimalField(max_digits=12, decimal_places=6)
    dos_min = models.DecimalField(max_digits=8, decimal_places=2)
    dos_max = models.DecimalField(max_digits=8, decimal_places=2)
    active = models.BooleanField(default=True, help_text="Whether the family is in the plan.")

    objects = PlanOnlyManager()
    all_objects = AllRowsManager()

    class Meta:
        ordering = ["cycle", "product_family"]
        verbose_name_plural = "cycle families"
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product_family"],
                condition=Q(scenario__isnull=True),
                name="cyclefamily_one_per_cycle",
            ),
            models.UniqueConstraint(
                fields=["scenario", "product_family"],
                condition=Q(scenario__isnull=False),
                name="cyclefamily_one_per_scenario",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0)
                & Q(unit_material_cost__gte=0)
                & Q(hours_per_unit__gte=0),
                name="cyclefamily_numbers_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(dos_min__gte=0) & Q(dos_max__gte=F("dos_min")),
                name="cyclefamily_dos_band_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.product_family_id}"


class CycleValueStream(models.Model):
    """The cycle's copy of a value stream's master data (whether it is in the plan, and
    its headcount for revenue per person)."""

    MASTER_COPY = True

    cycle = models.ForeignKey(
        PlanningCycle, on_delete=models.CASCADE, related_name="master_streams"
    )
    value_stream = models.ForeignKey(
        "valuestreams.ValueStream", on_delete=models.PROTECT, related_name="cycle_copies"
    )
    active = models.BooleanField(default=True)
    headcount = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["cycle", "value_stream"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "value_stream"], name="cyclevaluestream_one_per_cycle"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.value_stream_id}"


class BaselineRun(models.Model):
    """One computation of a cycle's statistical baseline: its progress, and a cancel switch.

    The families are split into chunks, each a Celery task; ``families_done`` counts the
    families whose baseline this run has written (``BaselineFit.run``), so a retried
    chunk never counts twice. Only one run of a cycle is active at a time.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = ("queued", "running")

    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="baseline_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    families_total = models.PositiveIntegerField(default=0)
    families_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed", "cancelled"]),
                name="baselinerun_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(families_done__lte=F("families_total")),
                name="baselinerun_done_within_total",
            ),
            models.UniqueConstraint(
                fields=["cycle"],
                condition=Q(status__in=["queued", "running"]),
                name="baselinerun_one_active_per_cycle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} baseline {self.status} {self.families_done}/{self.families_total}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def progress(self) -> float:
        return self.families_done / self.families_total if self.families_total else 1.0


class BaselineFit(models.Model):
    """How one family's baseline in one cycle came about: the method chosen, its holdout
    error and the seasonal naive's on the same months, or why there is none."""

    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="baseline_fits")
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily", on_delete=models.CASCADE, related_name="baseline_fits"
    )
    run = models.ForeignKey(
        BaselineRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="fits"
    )
    method = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=40, blank=True, help_text="The fitted form.")
    holdout_wape = models.FloatField(null=True, blank=True)
    benchmark_wape = models.FloatField(null=True, blank=True)
    history_months = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["cycle", "product_family"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product_family"], name="baselinefit_unique_family"
            ),
            models.CheckConstraint(
                condition=~Q(method="") | ~Q(reason=""), name="baselinefit_method_or_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} {self.product_family_id}: {self.method or self.reason}"


# --------------------------------------------------------------------------- assumptions

# The plan inputs an assumption may be about (SOFP.md, "Scenarios and assumptions"):
# forecasts and plans, not facts (actual sales) nor the model's baseline; per value
# stream, so the company's sustaining cost has none.
ASSUMPTION_FAMILY_MEASURES: tuple[str, ...] = ("demand", "production", "opening_inventory")
ASSUMPTION_STREAM_MEASURES: tuple[str, ...] = STREAM_INPUT_MEASURES
ASSUMPTION_MEASURES: tuple[str, ...] = ASSUMPTION_FAMILY_MEASURES + ASSUMPTION_STREAM_MEASURES


class AssumptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CONFIRMED = "confirmed", "Confirmed"
    RETIRED = "retired", "Retired"


class Assumption(models.Model):
    """One line of a cycle's assumption register: what the plan of a stream (one family
    or all of them), one measure and a run of months rests on, and who owns it.

    ``version`` grows on every change so two editors never overwrite each other; the
    history of each change is an :class:`AuditEvent` (``object_type="assumption"``).
    That a family belongs to the stream is checked by a database trigger (migration
    ``0013_i18a_assumptions``) as well as by the service.
    """

    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="assumptions")
    value_stream = models.ForeignKey(
        "valuestreams.ValueStream", on_delete=models.PROTECT, related_name="assumptions"
    )
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assumptions",
        help_text="Empty: every family of the stream.",
    )
    measure = models.CharField(max_length=24, choices=Measure.choices)
    first_month = models.DateField()
    last_month = models.DateField()
    text = models.TextField()
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="assumptions_owned"
    )
    impact = models.CharField(
        max_length=200, blank=True, help_text="What it does to the plan, e.g. +300 units/month."
    )
    status = models.CharField(
        max_length=10, choices=AssumptionStatus.choices, default=AssumptionStatus.OPEN
    )
    version = models.PositiveIntegerField(default=1)
    rolled_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rolled_to",
        help_text="The assumption of the previous cycle this one was rolled forward from.",
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cycle", "value_stream", "product_family", "measure", "first_month", "pk"]
        indexes = [
            models.Index(fields=["cycle", "value_stream", "measure"], name="assumption_cell_scope")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_month__lte=F("last_month")),
                name="assumption_first_before_last",
            ),
            models.CheckConstraint(
                condition=Q(first_month__day=1) & Q(last_month__day=1),
                name="assumption_months_first_day",
            ),
            models.CheckConstraint(
                condition=Q(measure__in=ASSUMPTION_MEASURES), name="assumption_measure_valid"
            ),
            models.CheckConstraint(
                condition=Q(measure__in=ASSUMPTION_FAMILY_MEASURES)
                | Q(product_family__isnull=True),
                name="assumption_family_only_family_measures",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AssumptionStatus.values), name="assumption_status_valid"
            ),
            models.CheckConstraint(condition=~Q(text=""), name="assumption_text_not_empty"),
            models.CheckConstraint(condition=Q(version__gte=1), name="assumption_version_min_1"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id} {self.measure} {self.first_month:%Y-%m}: {self.text[:40]}"

    def covers(self, *, family: str, month: dt.date) -> bool:
        """Whether it covers a cell of its stream and measure (family code, or "")."""
        fam = self.product_family.code if self.product_family_id else ""
        return (not fam or fam == family) and self.first_month <= month <= self.last_month


class LaunchStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    LAUNCHED = "launched", "Launched"
    CANCELLED = "cancelled", "Cancelled"


# The longest ramp a launch carries (units for the months from launch): the horizon's.
MAX_RAMP_MONTHS = MAX_HORIZON


class Launch(models.Model):
    """A new product launch as one cycle holds it (SOFP.md "NPD launches").

    The NPD stream develops the new family, which belongs to the receiving stream. Each
    cycle keeps its own row of every launch (rolled forward with the plan, frozen with
    it); the launch's identity across cycles is its family. ``committed_month`` is the
    planned month in the first approved cycle that held the launch: set at approval,
    carried forward, never changed. ``ramp`` is units per month from the planned launch
    month (index 0 = that month); ``development_hours`` maps "YYYY-MM" months before the
    launch to the NPD stream's hours of project work.
    """

    cycle = models.ForeignKey(PlanningCycle, on_delete=models.CASCADE, related_name="launches")
    product_family = models.ForeignKey(
        "valuestreams.ProductFamily", on_delete=models.PROTECT, related_name="launches"
    )
    npd_stream = models.ForeignKey(
        "valuestreams.ValueStream", on_delete=models.PROTECT, related_name="launches_developed"
    )
    receiving_stream = models.ForeignKey(
        "valuestreams.ValueStream", on_delete=models.PROTECT, related_name="launches_received"
    )
    planned_month = models.DateField(help_text="First day of the planned launch month.")
    committed_month = models.DateField(
        null=True,
        blank=True,
        help_text="The planned month in the first approved cycle that held the launch.",
    )
    actual_month = models.DateField(null=True, blank=True, help_text="When it launched.")
    status = models.CharField(
        max_length=10, choices=LaunchStatus.choices, default=LaunchStatus.PLANNED
    )
    ramp = models.JSONField(default=list, blank=True, help_text="Units per month from launch.")
    development_hours = models.JSONField(
        default=dict, blank=True, help_text='Hours per month before launch, {"YYYY-MM": h}.'
    )
    note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cycle", "planned_month", "product_family"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product_family"], name="launch_one_per_cycle_and_family"
            ),
            models.CheckConstraint(
                condition=Q(status__in=LaunchStatus.values), name="launch_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(planned_month__day=1)
                & (Q(committed_month__isnull=True) | Q(committed_month__day=1))
                & (Q(actual_month__isnull=True) | Q(actual_month__day=1)),
                name="launch_months_first_day",
            ),
            models.CheckConstraint(
                condition=(Q(status="launched") & Q(actual_month__isnull=False))
                | (~Q(status="launched") & Q(actual_month__isnull=True)),
                name="launch_actual_month_iff_launched",
            ),
            models.CheckConstraint(
                condition=~Q(npd_stream=F("receiving_stream")),
                name="launch_streams_differ",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="launch_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.product_family_id} launch {self.planned_month:%Y-%m}"


class BoardPack(models.Model):
    """A step-5 board pack as it was sent or approved: the PDF's bytes, kept for good.

    One per cycle and kind: the *pre-read* goes out with the step-5 reminder 24 h before
    the meeting, the *approved* one is archived when the plan is approved. Never changed
    or deleted on any path (the model refuses, the admin is read-only); ``sha256`` is the
    digest of ``pdf`` so anyone can check a copy they were sent.
    """

    class Kind(models.TextChoices):
        PRE_READ = "pre_read", "Pre-read (sent before the meeting)"
        APPROVED = "approved", "Approved plan (archived at approval)"

    cycle = models.ForeignKey(PlanningCycle, on_delete=models.PROTECT, related_name="board_packs")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    pages = models.PositiveSmallIntegerField()
    cycle_status = models.CharField(
        max_length=12, help_text="The cycle's status when the pack was built."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-cycle__month", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "kind"], name="board_pack_one_per_kind"),
            models.CheckConstraint(
                condition=Q(kind__in=["pre_read", "approved"]), name="board_pack_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="board_pack_sha256_hex"
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="board_pack_not_empty"),
            models.CheckConstraint(condition=Q(pages__gt=0), name="board_pack_has_pages"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.label} board pack ({self.get_kind_display()})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError("An archived board pack never changes.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("An archived board pack is never deleted.")

    @property
    def cycle_status_display(self) -> str:
        return CycleStatus(self.cycle_status).label if self.cycle_status else ""
