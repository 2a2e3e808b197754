"""Master data belongs to the cycle: a frozen plan's numbers never change, whatever
happens to the master; open cycles follow it; finance changes one cycle's prices."""

from __future__ import annotations

import datetime as dt
import importlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from planning.models import AuditEvent, CycleFamily, CycleValueStream, PlanningCycle
from planning.selectors.plans import cycle_master_frame, cycle_projection
from planning.services.approval import cycle_approve
from planning.services.cycle_master import (
    cycle_master_fill,
    cycle_master_update,
    cycle_masters_sync,
)
from planning.services.cycles import cycle_start
from planning.services.scenarios import scenario_create
from sofp.errors import FrozenCycleError, PermissionDenied, ValidationFailed
from tests.factories import CycleFactory, ProductFamilyFactory
from tests.worked_example import example_dir
from valuestreams.models import ProductFamily, ValueStream

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def export(label: str) -> str:
    return run("export_plan", "--cycle", label)


@pytest.fixture
def approved_example(executive):
    """The worked example imported as cycle 2027-01 and approved (frozen)."""
    example = example_dir()
    run("import_master", str(example / "master.csv"))
    run("import_plan", str(example / "plan.csv"), "--cycle", "2027-01")
    cycle = PlanningCycle.objects.get(month=dt.date(2027, 1, 1))
    cycle_approve(cycle=cycle, user=executive, override_reason="test")
    return cycle


def _master_with_new_prices(tmp_path: Path, *, factor: str = "2") -> Path:
    lines = (example_dir() / "master.csv").read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cols = line.split(",")
        cols[4] = str(Decimal(cols[4]) * Decimal(factor))  # unit_price
        cols[5] = str(Decimal(cols[5]) + 1)  # unit_material_cost
        cols[6] = str(Decimal(cols[6]) * 3)  # hours_per_unit
        cols[7], cols[8] = "1", "2"  # DOS band
        out.append(",".join(cols))
    out.append("NEWVS,Brand new,NEW-1,New family,10,5,1,10,30")
    path = tmp_path / "master2.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def test_frozen_export_is_byte_equal_after_any_master_change(approved_example, tmp_path):
    before = export("2027-01")
    assert "revenue" in before
    run("import_master", str(_master_with_new_prices(tmp_path)))
    assert export("2027-01") == before
    # Deactivating a family and a stream (admin or API: a plain save) changes nothing.
    family = ProductFamily.objects.order_by("code").first()
    family.active = False
    family.save()
    stream = ValueStream.objects.exclude(pk=family.value_stream_id).order_by("code").first()
    stream.active = False
    stream.headcount = 99
    stream.save()
    assert export("2027-01") == before


def test_open_cycle_follows_the_master_and_the_next_cycle_starts_from_it(
    approved_example, tmp_path
):
    nxt, _ = cycle_start(month=dt.date(2027, 2, 1), user=None)
    price_before = cycle_master_frame(cycle=nxt).set_index("product_family")["unit_price"]
    run("import_master", str(_master_with_new_prices(tmp_path)))
    after = cycle_master_frame(cycle=nxt).set_index("product_family")
    assert (after.loc[price_before.index, "unit_price"] == price_before * 2).all()
    assert "NEW-1" in after.index  # a new family reaches open cycles
    frozen = cycle_master_frame(cycle=approved_example).set_index("product_family")
    assert "NEW-1" not in frozen.index
    # Deactivating takes the family out of the open plan only.
    family = ProductFamily.objects.get(code=price_before.index[0])
    family.active = False
    family.save()
    assert family.code not in set(cycle_master_frame(cycle=nxt)["product_family"])
    assert family.code in set(cycle_master_frame(cycle=approved_example)["product_family"])


def test_a_cycle_starts_with_a_complete_copy(family_a, family_b):
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=None)
    assert set(
        CycleFamily.objects.filter(cycle=cycle).values_list("product_family__code", flat=True)
    ) == {"A-1", "B-1"}
    assert CycleValueStream.objects.filter(cycle=cycle).count() == 2


def test_fill_copies_only_what_is_missing_with_the_masters_values(cycle, family_a, stream_a):
    """One ``INSERT … SELECT``: each copy equals the master; a copy the cycle already
    has (with its own prices) stays, and a scenario's copy does not count as the plan's."""
    late = ProductFamilyFactory(
        code="LATE",
        value_stream=stream_a,
        unit_price=Decimal("12.3456"),
        unit_material_cost=Decimal("7.5"),
        hours_per_unit=Decimal("0.123456"),
        dos_min=Decimal("3.25"),
        dos_max=Decimal("9.75"),
        active=False,
    )
    CycleFamily.objects.filter(cycle=cycle, product_family=family_a).update(
        unit_price=Decimal("999")
    )
    scenario = scenario_create(cycle=cycle, name="s1", user=None)
    CycleFamily.objects.filter(cycle=cycle, product_family=late).delete()
    CycleValueStream.objects.filter(cycle=cycle).delete()
    # The scenario took its own copy of every family when it was created.
    CycleFamily.all_objects.filter(scenario=scenario, product_family=late).update(
        unit_price=Decimal("1")
    )

    assert cycle_master_fill(cycle=cycle) == 1
    assert cycle_master_fill(cycle=cycle) == 0  # nothing missing any more

    copy = CycleFamily.objects.get(cycle=cycle, product_family=late)
    assert copy.scenario_id is None
    assert (
        copy.value_stream_id,
        copy.unit_price,
        copy.unit_material_cost,
        copy.hours_per_unit,
        copy.dos_min,
        copy.dos_max,
        copy.active,
    ) == (
        stream_a.pk,
        Decimal("12.3456"),
        Decimal("7.5"),
        Decimal("0.123456"),
        Decimal("3.25"),
        Decimal("9.75"),
        False,
    )
    assert CycleFamily.objects.get(cycle=cycle, product_family=family_a).unit_price == 999
    scenario_copy = CycleFamily.all_objects.get(scenario=scenario, product_family=late)
    assert scenario_copy.unit_price == 1
    streams = CycleValueStream.objects.filter(cycle=cycle)
    assert [(s.value_stream_id, s.active, s.headcount) for s in streams] == [
        (stream_a.pk, stream_a.active, stream_a.headcount)
    ]


def test_approval_completes_the_copy(cycle, executive, stream_a):
    ProductFamilyFactory(code="LATE", value_stream=stream_a)
    CycleFamily.objects.filter(cycle=cycle, product_family__code="LATE").delete()
    cycle_approve(cycle=cycle, user=executive, override_reason="x")
    assert CycleFamily.objects.filter(cycle=cycle, product_family__code="LATE").exists()


def test_sync_creates_missing_copies_and_updates_the_others(family_a, family_b, stream_a, stream_b):
    frozen = CycleFactory(month=dt.date(2026, 12, 1), status="approved")
    has_copy = CycleFactory(month=dt.date(2027, 1, 1))
    cycle_master_fill(cycle=has_copy)
    no_copy = CycleFactory(month=dt.date(2027, 2, 1))
    CycleFamily.objects.filter(cycle=no_copy).delete()
    CycleValueStream.objects.filter(cycle=no_copy).delete()
    # The master changes without signals (a queryset update): only the sync copies it.
    ProductFamily.objects.filter(pk=family_a.pk).update(
        unit_price=Decimal("77"), value_stream=stream_b, dos_max=40
    )
    ValueStream.objects.filter(pk=stream_a.pk).update(headcount=42, active=False)
    written = cycle_masters_sync(family_ids=[family_a.pk], stream_ids=[stream_a.pk])
    assert written == 4  # one family and one stream in two open cycles
    for open_cycle in (has_copy, no_copy):
        fam = CycleFamily.objects.get(cycle=open_cycle, product_family=family_a)
        assert (fam.unit_price, fam.value_stream_id, fam.dos_max) == (
            Decimal("77"),
            stream_b.pk,
            40,
        )
        vs = CycleValueStream.objects.get(cycle=open_cycle, value_stream=stream_a)
        assert (vs.headcount, vs.active) == (42, False)
    # Only what was named: family B-1 and stream B got no copy in the cycle without one.
    assert not CycleFamily.objects.filter(cycle=no_copy, product_family=family_b).exists()
    assert not CycleValueStream.objects.filter(cycle=no_copy, value_stream=stream_b).exists()
    # One copy per cycle and master, however often it runs.
    assert cycle_masters_sync(family_ids=[family_a.pk], stream_ids=[stream_a.pk]) == 4
    assert CycleFamily.objects.filter(product_family=family_a).count() == 3
    kept = CycleFamily.objects.get(cycle=frozen, product_family=family_a)
    assert (kept.unit_price, kept.value_stream_id) == (family_a.unit_price, stream_a.pk)
    assert CycleValueStream.objects.get(cycle=frozen, value_stream=stream_a).headcount == (
        stream_a.headcount
    )
    assert cycle_masters_sync() == 0


def test_finance_changes_one_cycles_prices_with_history(cycle, family_a, finance_user):
    changed = cycle_master_update(
        cycle=cycle,
        user=finance_user,
        changes=[{"product_family": "A-1", "unit_price": "123.45", "unit_material_cost": "40"}],
    )
    assert changed == 1  # the cost was already 40
    assert cycle_master_frame(cycle=cycle).iloc[0]["unit_price"] == pytest.approx(123.45)
    family_a.refresh_from_db()
    assert family_a.unit_price == Decimal("100")  # the master is not changed
    event = AuditEvent.objects.get(cycle=cycle, action="price")
    assert (event.note, event.field, event.old, event.new, event.user) == (
        "A-1",
        "unit_price",
        "100.0000",
        "123.4500",
        finance_user,
    )
    revenue = cycle_projection(cycle=cycle).stream
    assert revenue is not None


def test_cycle_master_update_refuses(cycle, family_a, planner_a, finance_user, frozen_cycle):
    with pytest.raises(PermissionDenied):
        cycle_master_update(
            cycle=cycle, user=planner_a, changes=[{"product_family": "A-1", "unit_price": "1"}]
        )
    with pytest.raises(ValidationFailed) as info:
        cycle_master_update(
            cycle=cycle,
            user=finance_user,
            changes=[
                {"product_family": "A-1", "unit_price": "-1"},
                {"product_family": "NOPE", "unit_price": "1"},
                {"product_family": "A-1", "hours_per_unit": "1"},
            ],
        )
    assert [p.code for p in info.value.problems] == [
        "invalid",
        "unknown_product_family",
        "not_editable",
    ]
    with pytest.raises(FrozenCycleError):
        cycle_master_update(
            cycle=frozen_cycle,
            user=finance_user,
            changes=[{"product_family": "A-1", "unit_price": "1"}],
        )
    assert CycleFamily.objects.get(cycle=cycle, product_family=family_a).unit_price == 100


def test_migration_gives_existing_cycles_a_copy_and_reverses(cycle, family_a, family_b):
    migration = importlib.import_module("planning.migrations.0006_cycle_master_copies")
    migration.backwards(apps, None)
    assert not CycleFamily.objects.exists() and not CycleValueStream.objects.exists()
    migration.forwards(apps, None)
    assert CycleFamily.objects.filter(cycle=cycle).count() == 2
    assert CycleValueStream.objects.filter(cycle=cycle).count() == 2
    migration.forwards(apps, None)  # running it again adds nothing
    assert CycleFamily.objects.filter(cycle=cycle).count() == 2


# ------------------------------------------- issue 18: scenario prices follow the plan's


def _scenario_copy(scenario, code: str) -> CycleFamily:
    return CycleFamily.all_objects.get(scenario=scenario, product_family__code=code)


@pytest.fixture
def two_scenarios(cycle, family_a, family_b, executive, finance_user):
    """Scenario "same" never touches prices; "own" has its own A-1 price (and B-1 cost)."""
    from planning.services.scenarios import scenario_create

    same = scenario_create(cycle=cycle, name="same", user=executive)
    own = scenario_create(cycle=cycle, name="own", user=executive)
    cycle_master_update(
        cycle=cycle.in_scenario(own),
        user=finance_user,
        changes=[{"product_family": "A-1", "unit_price": "150"}],
    )
    return same, own


def test_plan_price_change_carries_scenario_copies_that_never_changed_it(
    cycle, two_scenarios, finance_user
):
    same, own = two_scenarios
    cycle_master_update(
        cycle=cycle,
        user=finance_user,
        changes=[
            {"product_family": "A-1", "unit_price": "120"},
            {"product_family": "B-1", "unit_material_cost": "45"},
        ],
    )
    assert _scenario_copy(same, "A-1").unit_price == Decimal("120")
    assert _scenario_copy(own, "A-1").unit_price == Decimal("150")  # its own stays
    assert _scenario_copy(same, "B-1").unit_material_cost == Decimal("45")
    assert _scenario_copy(own, "B-1").unit_material_cost == Decimal("45")  # never changed
    # The scenario's projection reads the followed price.
    frame = cycle_master_frame(cycle=cycle.in_scenario(same)).set_index("product_family")
    assert frame.loc["A-1", "unit_price"] == pytest.approx(120)


def test_the_prices_page_path_is_the_same_write_path(cycle, two_scenarios, finance_user):
    from planning.services.prices import cycle_prices_set
    from sofp.errors import VersionConflict

    same, own = two_scenarios
    n = cycle_prices_set(
        cycle=cycle,
        values={"A-1": {"unit_price": "1,130"}},
        base={"A-1": {"unit_price": "100"}},
        user=finance_user,
    )
    assert n == 1
    assert _scenario_copy(same, "A-1").unit_price == Decimal("1130")
    assert _scenario_copy(own, "A-1").unit_price == Decimal("150")
    events = AuditEvent.objects.filter(cycle=cycle, action="price", note="A-1")
    assert [(e.field, e.new) for e in events] == [("unit_price", "1130.0000")]
    with pytest.raises(VersionConflict):  # someone else's change since the form opened
        cycle_prices_set(
            cycle=cycle,
            values={"A-1": {"unit_price": "1"}},
            base={"A-1": {"unit_price": "100"}},
            user=finance_user,
        )
    # The API name refuses a stale base the same way.
    with pytest.raises(VersionConflict):
        cycle_master_update(
            cycle=cycle,
            user=finance_user,
            changes=[{"product_family": "A-1", "unit_price": "1"}],
            base={"A-1": {"unit_price": "100"}},
        )
    assert CycleFamily.objects.get(cycle=cycle, product_family__code="A-1").unit_price == 1130


def test_master_changes_from_files_and_admin_carry_untouched_scenario_copies(
    cycle, two_scenarios, family_a
):
    same, own = two_scenarios
    # The admin / master-data API: a plain save of the master family.
    family_a.unit_price = Decimal("210")
    family_a.hours_per_unit = Decimal("3")
    family_a.save()
    assert CycleFamily.objects.get(cycle=cycle, product_family=family_a).unit_price == 210
    assert _scenario_copy(same, "A-1").unit_price == Decimal("210")
    assert _scenario_copy(same, "A-1").hours_per_unit == Decimal("3")
    assert _scenario_copy(own, "A-1").unit_price == Decimal("150")
    assert _scenario_copy(own, "A-1").hours_per_unit == Decimal("3")  # never changed


def test_import_master_carries_untouched_scenario_copies(cycle, two_scenarios, tmp_path):
    same, own = two_scenarios
    header = (
        "value_stream,value_stream_name,product_family,family_name,unit_price,"
        "unit_material_cost,hours_per_unit,dos_min,dos_max"
    )
    path = tmp_path / "m.csv"
    path.write_text(f"{header}\nA,Stream A,A-1,Family A-1,99,41,2,10,30\n")
    run("import_master", str(path))
    assert _scenario_copy(same, "A-1").unit_price == Decimal("99")
    assert _scenario_copy(same, "A-1").unit_material_cost == Decimal("41")
    assert _scenario_copy(own, "A-1").unit_price == Decimal("150")
    assert _scenario_copy(own, "A-1").unit_material_cost == Decimal("41")


def test_adopting_a_price_carries_the_other_untouched_scenarios(cycle, two_scenarios, executive):
    from planning.services.scenarios import scenario_adopt

    same, own = two_scenarios
    scenario_adopt(scenario=own, user=executive)
    assert CycleFamily.objects.get(cycle=cycle, product_family__code="A-1").unit_price == 150
    assert _scenario_copy(same, "A-1").unit_price == Decimal("150")


def test_a_frozen_cycles_scenario_copies_never_follow(
    cycle, family_a, family_b, executive, finance_user
):
    from django.utils import timezone

    from planning.services.scenarios import scenario_create, scenarios_freeze

    same = scenario_create(cycle=cycle, name="same", user=executive)
    cycle.status, cycle.approved_at = "approved", timezone.now()
    cycle.save(update_fields=["status", "approved_at"])
    scenarios_freeze(cycle=cycle)
    family_a.unit_price = Decimal("333")
    family_a.save()
    assert _scenario_copy(same, "A-1").unit_price == Decimal("100")
    assert CycleFamily.objects.get(cycle=cycle, product_family=family_a).unit_price == 100
