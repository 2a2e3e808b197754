"""The measures of SOFP.md's file contract: names, scopes and units, in one place.

Pure Python (no Django) so the pandas engine can import it too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

FAMILY_INPUT_MEASURES: tuple[str, ...] = (
    "demand",
    "production",
    "actual_sales",
    "opening_inventory",
    "statistical_baseline",
)
STREAM_INPUT_MEASURES: tuple[str, ...] = (
    "available_hours",
    "non_productive_hours",
    "conversion_cost",
)
COMPANY_INPUT_MEASURES: tuple[str, ...] = ("sustaining_cost",)
INPUT_MEASURES: tuple[str, ...] = (
    FAMILY_INPUT_MEASURES + STREAM_INPUT_MEASURES + COMPANY_INPUT_MEASURES
)

FAMILY_OUTPUT_MEASURES: tuple[str, ...] = ("ending_inventory", "days_of_supply")
STREAM_OUTPUT_MEASURES: tuple[str, ...] = (
    "required_hours",
    "utilization",
    "revenue",
    "material_cost",
    "value_stream_profit",
    "return_on_sales",
    "inventory_value",
)
COMPANY_OUTPUT_MEASURES: tuple[str, ...] = (
    "revenue",
    "company_profit",
    "cash_flow",
    "inventory_value",
)

# The statistical baseline is stored per family and month like an input, but only the
# baseline forecast writes it (history source "baseline"); the engine carries it through
# untouched, and no formula reads it.
BASELINE_MEASURE = "statistical_baseline"
SYSTEM_MEASURES: frozenset[str] = frozenset({BASELINE_MEASURE})

# Computed measures appear in our own exports; an import skips them so that a
# downloaded file can be edited and uploaded again as it is.
COMPUTED_MEASURES: frozenset[str] = (
    frozenset(FAMILY_OUTPUT_MEASURES + STREAM_OUTPUT_MEASURES + COMPANY_OUTPUT_MEASURES)
    - frozenset(INPUT_MEASURES)
) | SYSTEM_MEASURES

# Actuals (SOFP.md "Actuals"): facts of a month, kept once (not per cycle).
ACTUAL_FAMILY_FACTS: tuple[str, ...] = ("actual_sales", "actual_production")
ACTUAL_STREAM_FACTS: tuple[str, ...] = (
    "actual_available_hours",
    "actual_productive_hours",
    "actual_non_productive_hours",
    "actual_conversion_cost",
    "orders_shipped",
    "orders_on_time",
    "units_first_time_through",
    "headcount",
    "dock_to_dock_days",
)
ACTUAL_FACTS: tuple[str, ...] = ACTUAL_FAMILY_FACTS + ACTUAL_STREAM_FACTS
ACTUAL_SCOPE: dict[str, str] = {
    **dict.fromkeys(ACTUAL_FAMILY_FACTS, "family"),
    **dict.fromkeys(ACTUAL_STREAM_FACTS, "stream"),
}
ACTUAL_LABELS: dict[str, str] = {
    "actual_sales": "Actual sales (units)",
    "actual_production": "Actual production (units)",
    "actual_available_hours": "Actual available hours",
    "actual_productive_hours": "Actual productive hours",
    "actual_non_productive_hours": "Actual non-productive hours",
    "actual_conversion_cost": "Actual conversion cost",
    "orders_shipped": "Orders shipped",
    "orders_on_time": "Orders shipped on time",
    "units_first_time_through": "Units first time through",
    "headcount": "Headcount (people)",
    "dock_to_dock_days": "Dock-to-dock days",
}
# Order actuals are entered by sales; the rest of a stream's operational actuals by its
# planners and managers; actual conversion cost by finance (SOFP.md, "Who changes what").
SALES_ACTUALS: frozenset[str] = frozenset({"actual_sales", "orders_shipped", "orders_on_time"})
FINANCE_ACTUALS: frozenset[str] = frozenset({"actual_conversion_cost"})
OPERATIONS_ACTUALS: frozenset[str] = frozenset(ACTUAL_FACTS) - SALES_ACTUALS - FINANCE_ACTUALS
ACTUAL_COLUMNS: tuple[str, ...] = ("value_stream", "product_family", "month", "measure", "value")

MIN_HORIZON, MAX_HORIZON = 3, 36
DEFAULT_HORIZON = 18

FAMILY, STREAM, COMPANY = "family", "stream", "company"
MEASURE_SCOPE: dict[str, str] = {
    **dict.fromkeys(FAMILY_INPUT_MEASURES, FAMILY),
    **dict.fromkeys(STREAM_INPUT_MEASURES, STREAM),
    **dict.fromkeys(COMPANY_INPUT_MEASURES, COMPANY),
}

# Only the first horizon month carries opening inventory.
FIRST_MONTH_ONLY: frozenset[str] = frozenset({"opening_inventory"})
# Actual sales are facts about the past: accepted for this many months before the
# cycle's first month as well as inside the horizon (forecast accuracy needs them).
ACTUALS_HISTORY_MONTHS = 12

MEASURE_LABELS: dict[str, str] = {
    "demand": "Demand (units)",
    "production": "Production (units)",
    "actual_sales": "Actual sales (units)",
    "opening_inventory": "Opening inventory (units)",
    "statistical_baseline": "Statistical baseline (units)",
    "available_hours": "Available hours",
    "non_productive_hours": "Non-productive hours",
    "conversion_cost": "Conversion cost",
    "sustaining_cost": "Sustaining cost",
    "ending_inventory": "Ending inventory (units)",
    "days_of_supply": "Days of supply",
    "required_hours": "Required hours",
    "utilization": "Utilization",
    "revenue": "Revenue",
    "material_cost": "Material cost",
    "value_stream_profit": "Value stream profit",
    "return_on_sales": "Return on sales",
    "inventory_value": "Inventory value",
    "company_profit": "Company profit",
    "cash_flow": "Cash flow",
}

# How each measure's numbers read (the grid's and the pages' number formats): units,
# days, hours, money or a share.
MEASURE_UNITS: dict[str, str] = {
    **dict.fromkeys(
        (
            "demand",
            "production",
            "actual_sales",
            "opening_inventory",
            "ending_inventory",
            "statistical_baseline",
        ),
        "qty",
    ),
    "days_of_supply": "days",
    **dict.fromkeys(("available_hours", "non_productive_hours", "required_hours"), "hours"),
    **dict.fromkeys(
        (
            "conversion_cost",
            "sustaining_cost",
            "revenue",
            "material_cost",
            "value_stream_profit",
            "inventory_value",
            "company_profit",
            "cash_flow",
        ),
        "money",
    ),
    **dict.fromkeys(("utilization", "return_on_sales"), "pct"),
}

PLAN_COLUMNS: tuple[str, ...] = ("value_stream", "product_family", "month", "measure", "value")
# A stored value (plan or actual): six decimals, below 1e13 in size, so it fits the
# value columns (DecimalField(max_digits=20, decimal_places=6)) whatever path writes.
VALUE_QUANTUM = Decimal("0.000001")
MAX_VALUE = Decimal("1e13")


def value_problems(measure: str, value: Decimal | None) -> list[tuple[str, str, str]]:
    """``(code, message, field)`` of what is wrong with a value to store, plan or fact:
    not a finite number, negative, or too large for the value columns (None clears)."""
    if value is None:
        return []
    if not value.is_finite():
        return [("not_finite", "value must be a finite number", "value")]
    if value < 0:
        return [("negative", f"{measure} must not be negative (got {value})", "value")]
    if value >= MAX_VALUE:
        return [("too_large", f"value {value} is too large", "value")]
    return []


def value_from_float(x: float) -> Decimal:
    """A number the engine or the baseline computed, as a value to store: its shortest
    decimal spelling (``repr``), rounded half-even to the stored precision."""
    return Decimal(repr(float(x))).quantize(VALUE_QUANTUM, rounding=ROUND_HALF_EVEN)


# Facts of a month: entered only for months that have started (grid, files, API).
ACTUAL_MEASURES: frozenset[str] = frozenset(m for m in INPUT_MEASURES if m.startswith("actual_"))


UNIT_SUFFIX = {"qty": "units", "hours": "h", "days": "days", "pct": "%"}


def measure_label_with_unit(measure: str, currency: str, label: str | None = None) -> str:
    """``Revenue (EUR)``, ``Available hours (h)``, ``Demand (units)``: a unit on every row."""
    label = label or MEASURE_LABELS.get(measure, measure)
    fmt = MEASURE_UNITS.get(measure, "qty")
    unit = currency if fmt == "money" else UNIT_SUFFIX.get(fmt, "")
    if not unit or label.endswith(f"({unit})"):
        return label
    return f"{label} ({unit})"
