"""Statuses, roles and the five SOFP steps: defined once, imported everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from planning.measures import INPUT_MEASURES, MEASURE_LABELS

DEFAULT_HORIZON = 18


class Measure(models.TextChoices):
    """Input measures stored as plan values (computed ones are never stored)."""

    DEMAND = "demand", MEASURE_LABELS["demand"]
    PRODUCTION = "production", MEASURE_LABELS["production"]
    ACTUAL_SALES = "actual_sales", MEASURE_LABELS["actual_sales"]
    OPENING_INVENTORY = "opening_inventory", MEASURE_LABELS["opening_inventory"]
    AVAILABLE_HOURS = "available_hours", MEASURE_LABELS["available_hours"]
    NON_PRODUCTIVE_HOURS = "non_productive_hours", MEASURE_LABELS["non_productive_hours"]
    CONVERSION_COST = "conversion_cost", MEASURE_LABELS["conversion_cost"]
    SUSTAINING_COST = "sustaining_cost", MEASURE_LABELS["sustaining_cost"]


assert tuple(Measure.values) == INPUT_MEASURES


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


class CompanyRole(models.TextChoices):
    """Company-wide roles, held as Django auth groups of the same name."""

    EXECUTIVE = "executive", "Executive"
    FINANCE = "finance", "Finance"
    SALES = "sales", "Sales & marketing"
    PRODUCT = "product", "Product"


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
