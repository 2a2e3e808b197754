"""Demo data: a small manufacturer with three value streams and a year of history.

Deterministic (seeded) and idempotent: running it twice changes nothing, so
``make run`` can load it on every start.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from planning.calendar import month_add, working_days_of_month
from planning.models import (
    Company,
    CycleStatus,
    CycleStep,
    Decision,
    Holiday,
    PlanningCycle,
    StepStatus,
)
from planning.selectors.cycles import company_holidays
from planning.services.baseline import baseline_compute
from planning.services.cycles import cycle_create
from planning.services.plan_values import CellInput, plan_values_upsert
from valuestreams.models import Membership, ProductFamily, ValueStream
from valuestreams.roles import CompanyRole

DEMO_PASSWORD = "sofp-demo"
HISTORY_CYCLES = 12
ACTUALS_MONTHS = 36  # months of facts before the current one (sales, production, operations)


@dataclass(frozen=True)
class DemoFamily:
    stream: str
    code: str
    name: str
    price: str
    material: str
    hours: str
    base: float  # average monthly demand in units


STREAMS = (
    ("PUMPS", "Industrial pumps", "order_fulfilment", 38),
    ("VALVES", "Valves & actuators", "order_fulfilment", 29),
    ("NPD", "New product development", "npd", 9),
)
FAMILIES = (
    DemoFamily("PUMPS", "PMP-CEN", "Centrifugal pumps", "1850", "720", "3.2", 210),
    DemoFamily("PUMPS", "PMP-SUB", "Submersible pumps", "2400", "980", "4.1", 120),
    DemoFamily("PUMPS", "PMP-DOS", "Dosing pumps", "640", "210", "1.4", 380),
    DemoFamily("PUMPS", "PMP-SPR", "Pump spare kits", "145", "52", "0.35", 1400),
    DemoFamily("PUMPS", "PMP-SVC", "Service exchange units", "980", "400", "2.2", 90),
    DemoFamily("VALVES", "VLV-BAL", "Ball valves", "320", "118", "0.8", 900),
    DemoFamily("VALVES", "VLV-BUT", "Butterfly valves", "540", "190", "1.1", 520),
    DemoFamily("VALVES", "VLV-CTL", "Control valves", "2150", "860", "5.0", 85),
    DemoFamily("VALVES", "VLV-ACT", "Electric actuators", "760", "330", "1.6", 300),
    DemoFamily("VALVES", "VLV-SPR", "Valve spare kits", "85", "28", "0.2", 2100),
    DemoFamily("NPD", "NPD-SMP", "Smart pump (launch)", "3200", "1250", "6.5", 25),
    DemoFamily("NPD", "NPD-IOT", "IoT valve monitor (pilot)", "450", "160", "0.9", 60),
)
USERS = (
    # username, first, last, company role, (stream, membership role) or None, superuser
    ("executive", "Erin", "Executive", CompanyRole.EXECUTIVE, None, False),
    ("finance", "Finn", "Finance", CompanyRole.FINANCE, None, False),
    ("sales", "Sam", "Sales", CompanyRole.SALES, None, False),
    ("planner", "Pat", "Planner", None, ("PUMPS", Membership.Role.PLANNER), False),
    ("manager", "Morgan", "Manager", None, ("VALVES", Membership.Role.MANAGER), False),
    ("admin", "Ada", "Admin", None, None, True),
    ("developer", "Dev", "Developer", None, ("NPD", Membership.Role.MANAGER), False),
)


@dataclass(frozen=True)
class DemoLaunch:
    """A launch from NPD: held from cycle ``first`` (months from the current one) on;
    ``planned(cycle offset)`` is its planned month there; ``actual`` when it launched."""

    code: str
    name: str
    stream: str
    price: str
    material: str
    hours: str
    first: int
    planned: tuple[tuple[int, int], ...]  # (from cycle offset, planned month offset)
    actual: int | None
    ramp: tuple[float, ...]
    dev_hours: float

    def planned_at(self, cycle_offset: int) -> int:
        month = self.planned[0][1]
        for since, planned in self.planned:
            if cycle_offset >= since:
                month = planned
        return month


# One launched on time, one late, two planned (one of which slipped in this cycle).
LAUNCHES = (
    DemoLaunch(
        "PMP-ECO",
        "Eco circulator pumps",
        "PUMPS",
        "1450",
        "560",
        "2.6",
        -12,
        ((-12, -6),),
        -6,
        (30, 60, 90, 120, 150, 170, 185, 195, 200, 205, 210, 215),
        320,
    ),
    DemoLaunch(
        "VLV-SMT",
        "Smart valve actuators",
        "VALVES",
        "1180",
        "470",
        "2.1",
        -10,
        ((-10, -4), (-4, -2)),
        -2,
        (20, 45, 70, 95, 115, 130, 140, 150, 155, 160),
        280,
    ),
    DemoLaunch(
        "PMP-HPX",
        "High-pressure pumps",
        "PUMPS",
        "3900",
        "1600",
        "7.5",
        -3,
        ((-3, 2), (0, 4)),
        None,
        (8, 16, 25, 35, 45, 55, 60, 65, 70),
        360,
    ),
    DemoLaunch(
        "VLV-IOT",
        "Valve IoT monitors",
        "VALVES",
        "260",
        "95",
        "0.3",
        0,
        ((0, 6),),
        None,
        (100, 200, 320, 450, 560, 650, 700),
        220,
    ),
)


def _season(month: dt.date) -> float:
    return 1.0 + 0.12 * math.sin((month.month - 3) / 12 * 2 * math.pi)


def _true_demand(fam: DemoFamily, month: dt.date) -> float:
    """What customers 'really' buy: base × season × a gentle trend."""
    months_from_2026 = (month.year - 2026) * 12 + month.month - 1
    trend = 1.0 + 0.004 * months_from_2026
    if fam.stream == "NPD":  # ramping launches
        trend = min(3.0, 0.4 + 0.09 * max(0, months_from_2026 + 6))
    return fam.base * _season(month) * trend


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(map(str, parts)))


def _q(x: float, places: int = 0) -> Decimal:
    return Decimal(str(round(max(x, 0.0), places)))


def _ensure_company() -> Company:
    """The company row (a migration creates it) gets the demo's name once."""
    company = Company.objects.order_by("pk").first() or Company(reminder_hours_before=[24, 2])
    if company.pk is None or company.name == Company._meta.get_field("name").default:
        company.name = "Northwind Fluid Systems"
        company.save()
    for day, name in (
        ("2025-12-25", "Christmas Day"),
        ("2025-12-26", "Boxing Day"),
        ("2026-01-01", "New Year's Day"),
        ("2026-04-06", "Easter Monday"),
        ("2026-04-27", "King's Day"),
        ("2026-05-14", "Ascension Day"),
        ("2026-12-25", "Christmas Day"),
        ("2026-12-26", "Boxing Day"),
        ("2027-01-01", "New Year's Day"),
        ("2027-03-29", "Easter Monday"),
    ):
        Holiday.objects.get_or_create(
            company=company, date=dt.date.fromisoformat(day), defaults={"name": name}
        )
    return company


def _ensure_master() -> None:
    streams = {}
    for code, name, kind, headcount in STREAMS:
        streams[code], _ = ValueStream.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "headcount": headcount}
        )
    streams["NPD"].serves.add(streams["PUMPS"], streams["VALVES"])
    for f in FAMILIES:
        ProductFamily.objects.update_or_create(
            code=f.code,
            defaults={
                "name": f.name,
                "value_stream": streams[f.stream],
                "unit_price": Decimal(f.price),
                "unit_material_cost": Decimal(f.material),
                "hours_per_unit": Decimal(f.hours),
                "dos_min": Decimal("10"),
                "dos_max": Decimal("35") if f.stream == "NPD" else Decimal("30"),
            },
        )


def _ensure_users() -> list[str]:
    User = get_user_model()
    lines = []
    for username, first, last, role, membership, superuser in USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.com",
                "is_staff": superuser,
                "is_superuser": superuser,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        if membership:
            Membership.objects.get_or_create(
                user=user,
                value_stream=ValueStream.objects.get(code=membership[0]),
                defaults={"role": membership[1]},
            )
        what = role or (f"{membership[1]} of {membership[0]}" if membership else "superuser")
        lines.append(f"{username:<10} {DEMO_PASSWORD}  ({what})")
    return lines


def _plan_cells(
    cycle_month: dt.date, horizon: int, actuals_until: dt.date | None
) -> list[CellInput]:
    """A full plan for one cycle: forecasts drift a little from cycle to cycle."""
    cells: list[CellInput] = []
    months = [month_add(cycle_month, i) for i in range(horizon)]
    for f in FAMILIES:
        demand = []
        for m in months:
            noise = _rng("forecast", f.code, cycle_month, m).gauss(1.0, 0.07)
            demand.append(_true_demand(f, m) * noise)
        # Production levels demand over a quarter and steers inventory towards ~20 days.
        inv = (
            _true_demand(f, cycle_month)
            * 20
            / 30
            * _rng("inv", f.code, cycle_month).uniform(0.7, 1.3)
        )
        cells.append(CellInput(f.stream, f.code, cycle_month, "opening_inventory", _q(inv, 1)))
        for i, m in enumerate(months):
            window = demand[i : i + 3]
            target = sum(window) / len(window) * 20 / 30
            prod = max(0.0, demand[i] + (target - inv) * 0.5)
            prod = round(prod)
            inv = inv + prod - demand[i]
            cells.append(CellInput(f.stream, f.code, m, "demand", _q(demand[i], 1)))
            cells.append(CellInput(f.stream, f.code, m, "production", _q(prod)))
    # Capacity and conversion cost per value stream and month.
    for code, _name, _kind, headcount in STREAMS:
        fams = [f for f in FAMILIES if f.stream == code]
        for m in months:
            required = sum(_true_demand(f, m) * float(f.hours) for f in fams)
            if code == "NPD":  # room for the launches' development hours (project work)
                required += 500
            tight = _rng("cap", code, m).uniform(0.72, 1.02)
            available = required / tight
            cells.append(CellInput(code, "", m, "available_hours", _q(available)))
            cells.append(CellInput(code, "", m, "non_productive_hours", _q(available * 0.1)))
            cells.append(
                CellInput(code, "", m, "conversion_cost", _q(headcount * 5200 + available * 18, 2))
            )
    for m in months:
        cells.append(
            CellInput("", "", m, "sustaining_cost", _q(185_000 + 4_000 * (m.month % 3), 2))
        )
    if actuals_until is not None:
        first = month_add(cycle_month, -HISTORY_CYCLES)
        m = first
        while m < actuals_until:
            for f in FAMILIES:
                actual = _true_demand(f, m) * _rng("actual", f.code, m).gauss(1.0, 0.06)
                cells.append(CellInput(f.stream, f.code, m, "actual_sales", _q(actual)))
            m = month_add(m, 1)
    return cells


def _approve_history(cycle: PlanningCycle, approver) -> None:
    """Mark a past cycle as run: steps done, plan approved (frozen)."""
    CycleStep.objects.filter(cycle=cycle).update(
        status=StepStatus.DONE, minutes="Agenda covered; see decisions."
    )
    last = cycle.steps.order_by("-number").first()
    cycle.status = CycleStatus.APPROVED
    cycle.approved_at = last.meeting_end if last else timezone.now()
    cycle.approved_by = approver
    cycle.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])


@transaction.atomic
def demo_load(*, today: dt.date | None = None) -> list[str]:
    """Create or complete the demo; returns the login lines to print."""
    today = today or timezone.localdate()
    _ensure_company()
    _ensure_master()
    lines = _ensure_users()
    User = get_user_model()
    executive = User.objects.get(username="executive")
    current = today.replace(day=1)
    # The facts first: every cycle's baseline forecasts from the sales before it.
    facts = _actual_cells(current)
    _ensure_actuals(facts)
    for back in range(HISTORY_CYCLES, -1, -1):
        month = month_add(current, -back)
        if PlanningCycle.objects.filter(month=month).exists():
            continue
        # A launch's new family exists from the first cycle that holds the launch (so
        # that cycle's master copy has it), with its facts from its launch month.
        _ensure_launch_families(-back, facts)
        cycle = cycle_create(month=month)
        is_current = back == 0
        actuals_until = month if is_current else None
        cells = _plan_cells(month, cycle.horizon, actuals_until=actuals_until)
        cells += _launch_plan_cells(current, -back, cycle.horizon, actuals_until=actuals_until)
        plan_values_upsert(cycle=cycle, cells=cells, user=None, source="demo")
        _ensure_launches(current, cycle, -back)
        # Step 1 shows the statistical baseline beside the demand from the start, and
        # the past cycles froze theirs with them: the FVA of the closed months
        # (naive, baseline, consensus) has all three forecasts to compare. After the
        # launch families exist: a new family gets the empty baseline with its reason.
        baseline_compute(cycle=cycle, user=None, n_jobs=1)
        if is_current:
            _start_current(cycle, today)
            _ensure_assumptions(cycle)
        else:
            _approve_history(cycle, executive)
    return lines


def _launch_from(d: DemoLaunch, cycle_offset: int) -> int:
    """The month (offset from the current one) the cycle at ``cycle_offset`` plans the
    launch's ramp from: its actual launch month once launched, else its planned one."""
    if d.actual is not None and cycle_offset > d.actual:
        return d.actual
    return d.planned_at(cycle_offset)


def _ramp_units(d: DemoLaunch, i: int) -> float:
    """Units of the ramp's month ``i`` (its last value after the ramp)."""
    return float(d.ramp[min(i, len(d.ramp) - 1)])


def _month_index(month: dt.date) -> int:
    return month.year * 12 + month.month - 1


def _launch_sold(d: DemoLaunch, month: dt.date, current: dt.date) -> Decimal:
    """What a launched family sold in ``month`` (its ramp, with noise): the same
    number in the facts and in the current plan's actual sales."""
    assert d.actual is not None
    i = _month_index(month) - _month_index(month_add(current, d.actual))
    return _q(_ramp_units(d, i) * _rng("actual", d.code, month).gauss(1.0, 0.08))


def _launch_plan_cells(
    current: dt.date, cycle_offset: int, horizon: int, actuals_until: dt.date | None
) -> list[CellInput]:
    """The launched families' plan in a cycle that holds them: demand and production
    follow the ramp from the launch month (production builds ~20 days of stock in the
    first month), opening inventory ~20 days once launched; the current cycle's actual
    sales from the launch month on."""
    cycle_month = month_add(current, cycle_offset)
    cells: list[CellInput] = []
    for d in LAUNCHES:
        if d.actual is None or cycle_offset < d.first:
            continue
        start = month_add(current, _launch_from(d, cycle_offset))
        ramp_at = {month_add(start, i): _ramp_units(d, i) for i in range(horizon + 24)}
        launched = start < cycle_month
        opening = ramp_at[cycle_month] * 20 / 30 if launched else 0.0
        cells.append(CellInput(d.stream, d.code, cycle_month, "opening_inventory", _q(opening)))
        for i in range(horizon):
            m = month_add(cycle_month, i)
            if m < start:
                continue
            units = ramp_at[m]
            build = ramp_at.get(month_add(m, 1), 0.0) * 20 / 30 if m == start else 0.0
            cells.append(CellInput(d.stream, d.code, m, "demand", _q(units)))
            cells.append(CellInput(d.stream, d.code, m, "production", _q(units + build)))
        if actuals_until is not None:
            m = month_add(current, d.actual)
            while m < actuals_until:
                sold = _launch_sold(d, m, current)
                cells.append(CellInput(d.stream, d.code, m, "actual_sales", sold))
                m = month_add(m, 1)
    return cells


def _ensure_launch_families(cycle_offset: int, facts: list) -> None:
    """The new families of the launches the cycle at ``cycle_offset`` holds, with their
    facts (from their launch month)."""
    streams = {vs.code: vs for vs in ValueStream.objects.all()}
    made = []
    for d in LAUNCHES:
        if d.first > cycle_offset or ProductFamily.objects.filter(code=d.code).exists():
            continue
        ProductFamily.objects.create(
            code=d.code,
            name=d.name,
            value_stream=streams[d.stream],
            unit_price=Decimal(d.price),
            unit_material_cost=Decimal(d.material),
            hours_per_unit=Decimal(d.hours),
        )
        made.append(d.code)
    if made:
        _ensure_actuals([c for c in facts if c.product_family in made])


def _ensure_launches(current: dt.date, cycle: PlanningCycle, cycle_offset: int) -> None:
    """The demo launches as the cycle at ``cycle_offset`` holds them (a trusted path)."""
    from planning.models import Launch, LaunchStatus

    npd = ValueStream.objects.get(code="NPD")
    for d in LAUNCHES:
        if cycle_offset < d.first:
            continue
        family = ProductFamily.objects.get(code=d.code)
        planned = month_add(current, d.planned_at(cycle_offset))
        # committed: the planned month in the first approved (past) cycle that held it
        first_held = max(d.first, -HISTORY_CYCLES)
        committed = month_add(current, d.planned_at(first_held)) if first_held < 0 else None
        launched = d.actual is not None and cycle_offset > d.actual
        hours = {
            f"{month_add(cycle.month, i):%Y-%m}": d.dev_hours
            for i in range(12)
            if month_add(cycle.month, i) < planned
        }
        Launch.objects.get_or_create(
            cycle=cycle,
            product_family=family,
            defaults={
                "npd_stream": npd,
                "receiving_stream": family.value_stream,
                "planned_month": planned,
                "committed_month": committed,
                "actual_month": month_add(current, d.actual) if launched else None,
                "status": LaunchStatus.LAUNCHED if launched else LaunchStatus.PLANNED,
                "ramp": list(d.ramp),
                "development_hours": {} if launched else hours,
            },
        )


def _development_worked(current: dt.date, month: dt.date) -> float:
    """NPD project work of ``month``: each launch's development hours (with noise) from
    the first cycle that held it until it launched (or is planned to)."""
    offset = _month_index(month) - _month_index(current)
    total = 0.0
    for d in LAUNCHES:
        until = d.actual if d.actual is not None else d.planned_at(0)
        if d.first <= offset < until:
            total += d.dev_hours * _rng("dev", d.code, month).uniform(0.9, 1.1)
    return total


def _actual_cells(current: dt.date) -> list:
    """36 months of facts before ``current``: family sales (the demand's trend and
    season, with noise; the same numbers the plans' actual sales hold) and production,
    and each stream's operational actuals, so every closed-month figure is populated."""
    from planning.services.actuals import ActualInput

    cells = []
    headcounts = {code: hc for code, _n, _k, hc in STREAMS}
    for back in range(ACTUALS_MONTHS, 0, -1):
        m = month_add(current, -back)
        hours: dict[str, float] = {}
        made: dict[str, float] = {}
        for f in FAMILIES:
            sold = float(_q(_true_demand(f, m) * _rng("actual", f.code, m).gauss(1.0, 0.06)))
            produced = float(_q(sold * _rng("made", f.code, m).gauss(1.0, 0.04)))
            cells.append(ActualInput(f.stream, f.code, m, "actual_sales", _q(sold)))
            cells.append(ActualInput(f.stream, f.code, m, "actual_production", _q(produced)))
            hours[f.stream] = hours.get(f.stream, 0.0) + produced * float(f.hours)
            made[f.stream] = made.get(f.stream, 0.0) + produced
        for d in LAUNCHES:  # launched families sell and are made from their launch month
            if d.actual is None or m < month_add(current, d.actual):
                continue
            sold = float(_launch_sold(d, m, current))
            build = _ramp_units(d, 1) * 20 / 30 if m == month_add(current, d.actual) else 0.0
            produced = float(_q((sold + build) * _rng("made", d.code, m).gauss(1.0, 0.04)))
            cells.append(ActualInput(d.stream, d.code, m, "actual_sales", _q(sold)))
            cells.append(ActualInput(d.stream, d.code, m, "actual_production", _q(produced)))
            hours[d.stream] = hours.get(d.stream, 0.0) + produced * float(d.hours)
            made[d.stream] = made.get(d.stream, 0.0) + produced
        for code, headcount in headcounts.items():
            r = _rng("ops", code, m)
            productive = hours[code] * r.uniform(0.95, 1.1)
            if code == "NPD":  # project work is productive time too (SOFP.md "NPD launches")
                productive += _development_worked(current, m)
            available = productive / r.uniform(0.72, 0.95)
            non_productive = available * r.uniform(0.08, 0.14)
            shipped = max(1, round(made[code] / 6))
            # Lean improvement over the years: on time and first time through rise.
            learn = min(1.0, (ACTUALS_MONTHS - back) / ACTUALS_MONTHS)
            on_time = min(shipped, round(shipped * (0.86 + 0.08 * learn + r.uniform(-0.02, 0.02))))
            ftt = made[code] * min(1.0, 0.9 + 0.06 * learn + r.uniform(-0.02, 0.02))
            facts = {
                "actual_available_hours": _q(available),
                "actual_productive_hours": _q(productive),
                "actual_non_productive_hours": _q(min(non_productive, available - productive)),
                "actual_conversion_cost": _q(headcount * 5200 + available * 18, 2),
                "orders_shipped": _q(shipped),
                "orders_on_time": _q(on_time),
                "units_first_time_through": _q(ftt),
                "headcount": _q(headcount),
                "dock_to_dock_days": _q(14 - 4 * learn + r.uniform(-1, 1), 1),
            }
            cells += [ActualInput(code, "", m, k, v) for k, v in facts.items()]
    return cells


def _ensure_actuals(cells: list) -> None:
    """Write the facts of the families that exist (and every stream's)."""
    from planning.services.actuals import actuals_upsert

    existing = set(ProductFamily.objects.values_list("code", flat=True))
    cells = [c for c in cells if not c.product_family or c.product_family in existing]
    actuals_upsert(cells=cells, user=None, source="demo", any_month=True)


def _start_current(cycle: PlanningCycle, today: dt.date) -> None:
    """The current cycle is under way: steps before today are done."""
    cycle.status = CycleStatus.IN_PROGRESS
    cycle.save(update_fields=["status", "updated_at"])
    days = working_days_of_month(cycle.month, company_holidays(Company.get()), 5)
    for step in cycle.steps.all():
        day = days[step.number - 1]
        if step.number == 5:
            step.status = StepStatus.NOT_STARTED
        elif day < today:
            step.status = StepStatus.DONE
            step.minutes = "Inputs reviewed; plan agreed for this step."
        else:
            step.status = StepStatus.IN_PROGRESS if step.number == 1 else StepStatus.NOT_STARTED
        step.save(update_fields=["status", "minutes", "updated_at"])
    if not cycle.decisions.exists():
        User = get_user_model()
        Decision.objects.create(
            cycle=cycle,
            step=cycle.steps.get(number=3),
            text="Add a second shift on the submersible pump line for the peak months.",
            owner=User.objects.filter(username="planner").first(),
            due_date=today + dt.timedelta(days=14),
        )


def _ensure_assumptions(cycle: PlanningCycle) -> None:
    """A few lines of the current cycle's assumption register (issue 18)."""
    from planning.services.assumptions import assumption_create

    if cycle.assumptions.exists():
        return
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(username__in=["sales", "manager"])}
    last = month_add(cycle.month, 2)
    for stream, family, measure, first, end, text, impact, owner in (
        (
            "PUMPS",
            "PMP-CEN",
            "demand",
            cycle.month,
            last,
            "Water utility framework contract renewed: call-offs as last year.",
            "",
            "sales",
        ),
        (
            "PUMPS",
            "PMP-SUB",
            "demand",
            month_add(cycle.month, 1),
            month_add(cycle.month, 4),
            "Flood-season stock build by two distributors.",
            "+15% in the season",
            "sales",
        ),
        (
            "VALVES",
            "",
            "available_hours",
            month_add(cycle.month, 2),
            month_add(cycle.month, 7),
            "Second shift on the control-valve cell from month 3 (hiring on track).",
            "+1,200 h/month",
            "manager",
        ),
    ):
        assumption_create(
            cycle=cycle,
            user=None,
            value_stream=stream,
            product_family=family,
            measure=measure,
            first_month=first,
            last_month=end,
            text=text,
            impact=impact,
            owner=users.get(owner),
            source="demo",
        )


def demo_board_pack() -> str:
    """Archive the approved board pack of the latest approved cycle once (issue 20), so
    the demo has a pack to open; a note instead when Chromium is missing or printing
    fails (the demo works without it). Apart from :func:`demo_load`: only the command
    prints, tests of the data stay fast."""
    from planning.models import BoardPack
    from planning.services.board_pack import board_pack_archive
    from sofp.errors import ApplicationError
    from sofp.pdf import renderer_check

    cycle = PlanningCycle.objects.filter(status=CycleStatus.APPROVED).order_by("-month").first()
    if cycle is None:
        return "No approved cycle, so no board pack to archive."
    if BoardPack.objects.filter(cycle=cycle, kind=BoardPack.Kind.APPROVED).exists():
        return f"The approved board pack of {cycle.label} is archived."
    try:
        renderer_check()
        pack = board_pack_archive(cycle=cycle, kind=BoardPack.Kind.APPROVED)
    except ApplicationError as exc:
        return f"Board pack of {cycle.label} not archived: {exc.message}"
    return f"Archived the approved board pack of {cycle.label} ({pack.pages} pages)."
