"""Actual sales are facts of a month, kept once (SOFP.md "Actuals"): a fact entered on any
path — ``import_actuals``, the actuals API, the Month close page, the grid — reaches every
cycle that is not frozen (its export, long and wide, its projection, the plan-values API
with its ETag and ``updated_since``), while an approved cycle keeps the copy it was
approved with, byte for byte. The store is followed by writing the open cycles' plan
cells (versions grow, history says where it came from)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from planning.calendar import month_add
from planning.models import Actual, PlanningCycle, PlanValue, PlanValueChange
from planning.selectors.actuals import last_closed_month
from planning.services.actuals import ActualInput, actuals_upsert
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db

HEADER = "value_stream,product_family,month,measure,value\n"
# A month that has started (the facts' own clock), inside the open cycle's horizon.
PAST = dt.date(2000, 1, 1)


@pytest.fixture(autouse=True)
def _past(db):
    global PAST
    PAST = last_closed_month()


def _import_actuals(tmp_path: Path, text: str) -> None:
    path = tmp_path / "actuals.csv"
    path.write_text(HEADER + text)
    call_command("import_actuals", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def _export(cycle: PlanningCycle, tmp_path: Path, *extra: str) -> bytes:
    out = tmp_path / f"export-{cycle.label}-{'-'.join(extra) or 'long'}.out"
    call_command(
        "export_plan", "--cycle", cycle.label, "--output", str(out), *extra, stdout=io.StringIO()
    )
    return out.read_bytes()


def _sales_rows(data: bytes, month: dt.date) -> list[str]:
    return [
        line
        for line in data.decode().splitlines()
        if f",{month:%Y-%m},actual_sales," in line and line.startswith("A,A-1,")
    ]


def _approve(cycle: PlanningCycle) -> None:
    PlanningCycle.objects.filter(pk=cycle.pk).update(status="approved", approved_at=timezone.now())
    cycle.refresh_from_db()


@pytest.fixture
def open_cycle(family_a, family_b):
    """The cycle of the last closed month: that month is in its horizon and has started."""
    cycle = CycleFactory(month=PAST, status="in_progress")
    plan_values_upsert(
        cycle=cycle,
        cells=[CellInput("A", "A-1", m, "demand", Decimal("100")) for m in cycle.horizon_months()],
        user=None,
    )
    return cycle


def test_an_imported_actual_reaches_the_open_cycles_export_long_and_wide(open_cycle, tmp_path):
    assert _sales_rows(_export(open_cycle, tmp_path), PAST) == []
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,123.5\n")
    assert _sales_rows(_export(open_cycle, tmp_path), PAST) == [
        f"A,A-1,{PAST:%Y-%m},actual_sales,123.500000"
    ]
    wide = _export(open_cycle, tmp_path, "--layout", "wide").decode().splitlines()
    header = wide[0].split(",")
    row = next(line.split(",") for line in wide if line.startswith("A,A-1,actual_sales,"))
    assert row[header.index(f"{PAST:%Y-%m}")] == "123.500000"
    # A changed fact changes the export, a cleared one leaves it.
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,130\n")
    assert _sales_rows(_export(open_cycle, tmp_path), PAST)[0].endswith(",130.000000")
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,\n")
    assert _sales_rows(_export(open_cycle, tmp_path), PAST) == []


def test_the_plan_cell_follows_the_fact_with_growing_versions_and_history(open_cycle, sales_user):
    key = dict(cycle=open_cycle, product_family__code="A-1", month=PAST, measure="actual_sales")
    for value in ("10", "12"):
        actuals_upsert(
            cells=[ActualInput("A", "A-1", PAST, "actual_sales", Decimal(value))],
            user=sales_user,
            source="api",
        )
    cell = PlanValue.objects.get(**key)
    assert (cell.value, cell.version) == (Decimal("12"), 2)
    history = PlanValueChange.objects.filter(**key).order_by("version")
    assert [(h.new_value, h.source, h.changed_by_id) for h in history] == [
        (Decimal("10"), "actuals", sales_user.pk),
        (Decimal("12"), "actuals", sales_user.pk),
    ]
    # Writing the same fact again writes nothing anywhere.
    actuals_upsert(
        cells=[ActualInput("A", "A-1", PAST, "actual_sales", Decimal("12"))],
        user=sales_user,
        source="api",
    )
    assert PlanValue.objects.get(**key).version == 2


def test_a_dry_run_and_other_measures_leave_the_plan_alone(open_cycle, tmp_path):
    actuals_upsert(
        cells=[ActualInput("A", "A-1", PAST, "actual_sales", Decimal("10"))],
        user=None,
        dry_run=True,
    )
    actuals_upsert(
        cells=[ActualInput("A", "A-1", PAST, "actual_production", Decimal("10"))], user=None
    )
    assert not PlanValue.objects.filter(measure="actual_sales").exists()


def test_a_frozen_cycle_keeps_the_copy_it_was_approved_with(open_cycle, tmp_path):
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,100\n")
    _approve(open_cycle)
    before = _export(open_cycle, tmp_path), _export(open_cycle, tmp_path, "--layout", "wide")
    assert _sales_rows(before[0], PAST)[0].endswith(",100.000000")
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,140\n")
    assert Actual.objects.get(measure="actual_sales").value == Decimal("140")
    after = _export(open_cycle, tmp_path), _export(open_cycle, tmp_path, "--layout", "wide")
    assert after == before


def test_a_frozen_cycles_grid_shows_its_own_copy_an_open_ones_the_fact(open_cycle, stream_a):
    from planning.selectors.grid import grid_stored_cells

    actuals_upsert(cells=[ActualInput("A", "A-1", PAST, "actual_sales", Decimal("7"))], user=None)
    _approve(open_cycle)
    actuals_upsert(cells=[ActualInput("A", "A-1", PAST, "actual_sales", Decimal("9"))], user=None)

    def shown(cycle):
        cells = grid_stored_cells(cycle=cycle, value_stream=stream_a)
        return [c.value for c in cells if c.measure == "actual_sales" and c.month == PAST]

    assert shown(open_cycle) == [Decimal("7")]
    later = CycleFactory(month=month_add(PAST, 1), status="in_progress")
    actuals_upsert(cells=[ActualInput("A", "A-1", PAST, "actual_sales", Decimal("11"))], user=None)
    assert shown(later) == [Decimal("11")]
    assert shown(open_cycle) == [Decimal("7")]


def test_every_open_cycle_whose_window_holds_the_month_follows(open_cycle):
    """Two open cycles (this one and the next): a fact written through one plan reaches
    the other; an approved one and one whose window misses the month do not."""
    nxt = CycleFactory(month=month_add(PAST, 1), status="in_progress")
    far = CycleFactory(month=month_add(PAST, 13), status="in_progress")
    old = CycleFactory(month=month_add(PAST, -1), status="approved")
    plan_values_upsert(
        cycle=open_cycle,
        cells=[CellInput("A", "A-1", PAST, "actual_sales", Decimal("55"))],
        user=None,
        source="api",
    )
    values = dict(
        PlanValue.objects.filter(measure="actual_sales", month=PAST).values_list(
            "cycle__month", "value"
        )
    )
    assert values == {PAST: Decimal("55"), nxt.month: Decimal("55")}
    assert far.month not in values and old.month not in values
    assert Actual.objects.get(measure="actual_sales").value == Decimal("55")


def test_starting_a_cycle_takes_the_facts_not_the_frozen_plans_stale_copy(open_cycle, tmp_path):
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,100\n")
    _approve(open_cycle)
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,140\n")
    from planning.services.cycles import cycle_start

    started, _ = cycle_start(month=month_add(PAST, 1), user=None)
    # The fact stands (the roll forward did not write the frozen copy back over it) ...
    assert Actual.objects.get(measure="actual_sales").value == Decimal("140")
    # ... and the new cycle shows it.
    cell = PlanValue.objects.get(cycle=started, measure="actual_sales", month=PAST)
    assert cell.value == Decimal("140")
    assert PlanValue.objects.get(cycle=open_cycle, measure="actual_sales").value == Decimal("100")


def test_the_plan_values_api_sees_the_fact_etag_and_updated_since(
    open_cycle, executive, client_for, tmp_path
):
    client = client_for(executive)
    url = f"/api/v1/cycles/{open_cycle.label}/plan-values/"
    first = client.get(url, {"measure": "actual_sales"})
    assert first.status_code == 200 and first.json()["results"] == []
    since = timezone.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _import_actuals(tmp_path, f"A,A-1,{PAST:%Y-%m},actual_sales,77\n")
    again = client.get(url, {"measure": "actual_sales"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    rows = again.json()["results"]
    assert [(r["product_family"], r["month"], r["value"]) for r in rows] == [
        ("A-1", f"{PAST:%Y-%m}", "77.000000")
    ]
    changed = client.get(url, {"updated_since": since}).json()["results"]
    assert [(r["measure"], r["value"]) for r in changed] == [("actual_sales", "77.000000")]


def test_a_cycle_approved_while_the_facts_are_written_is_skipped_not_an_error(
    open_cycle, monkeypatch
):
    """Approval commits between the list of open cycles and the plan write: that plan
    refuses (frozen) and keeps its copy; the fact and the other open plans are written."""
    from planning.services import actuals as service

    nxt = CycleFactory(month=month_add(PAST, 1), status="in_progress")
    real = service._plan_follow

    def approving_first(cycle, cells, **kwargs):
        if cycle.pk == open_cycle.pk:
            _approve(open_cycle)
        return real(cycle, cells, **kwargs)

    monkeypatch.setattr(service, "_plan_follow", approving_first)
    actuals_upsert(cells=[ActualInput("A", "A-1", PAST, "actual_sales", Decimal("8"))], user=None)
    assert Actual.objects.get(measure="actual_sales").value == Decimal("8")
    assert not PlanValue.objects.filter(cycle=open_cycle, measure="actual_sales").exists()
    assert PlanValue.objects.get(cycle=nxt, measure="actual_sales").value == Decimal("8")
