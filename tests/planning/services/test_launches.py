"""NPD launches through the services: the new family, bad input, versions and history,
rights (each "no"), the frozen rule, the ramp, roll-forward, committed month, the
slipped exception, on-time launch in the box score."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from planning.models import (
    AuditEvent,
    CycleFamily,
    CycleStatus,
    Launch,
    PlanValue,
    PlanValueChange,
)
from planning.selectors.launches import launches_for_cycle
from planning.selectors.plans import cycle_analysis, cycle_projection
from planning.services.approval import cycle_approve
from planning.services.cycles import cycle_start
from planning.services.launches import demand_use_ramp, launch_create, launch_update
from sofp.errors import FrozenCycleError, PermissionDenied, ValidationFailed, VersionConflict
from tests.factories import CycleFactory, MembershipFactory, UserFactory, ValueStreamFactory
from valuestreams.models import Membership, ProductFamily, ValueStream

M = dt.date(2027, 1, 1)


@pytest.fixture
def npd(db):
    return ValueStreamFactory(code="NPD", kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT)


@pytest.fixture
def pumps(db):
    return ValueStreamFactory(code="PUMPS")


@pytest.fixture
def npd_manager(npd):
    user = UserFactory(username="npd_manager")
    MembershipFactory(user=user, value_stream=npd, role=Membership.Role.MANAGER)
    return user


def _data(**kw):
    data = {
        "npd_stream": "NPD",
        "receiving_stream": "PUMPS",
        "product_family": "PMP-NEW",
        "family_name": "New pump",
        "planned_month": "2027-04",
        "unit_price": "500",
        "unit_material_cost": "200",
        "hours_per_unit": "2",
        "ramp": "10, 20, 40",
        "development_hours": "2027-01: 100, 2027-02: 120, 2027-03: 80",
    }
    data.update(kw)
    return data


def test_a_launch_creates_its_family_in_the_receiving_stream_and_the_open_cycles(
    npd, pumps, npd_manager, cycle
):
    frozen = CycleFactory(month=dt.date(2026, 12, 1), status="approved")
    launch = launch_create(cycle=cycle, user=npd_manager, data=_data())
    family = ProductFamily.objects.get(code="PMP-NEW")
    assert family.value_stream == pumps and family.unit_price == Decimal("500")
    assert launch.ramp == [10.0, 20.0, 40.0]
    assert launch.development_hours == {"2027-01": 100.0, "2027-02": 120.0, "2027-03": 80.0}
    assert (launch.version, launch.status, launch.committed_month) == (1, "planned", None)
    assert CycleFamily.objects.filter(cycle=cycle, product_family=family).exists()
    assert not CycleFamily.objects.filter(cycle=frozen, product_family=family).exists()
    event = AuditEvent.objects.get(object_type="launch", object_id=launch.pk)
    assert (event.action, event.user) == ("launch_create", npd_manager)


@pytest.mark.parametrize(
    "change, code, field",
    [
        (
            {"planned_month": "2026-12", "development_hours": ""},
            "launch_before_cycle",
            "planned_month",
        ),
        ({"receiving_stream": "NPD2"}, "receiving_stream_is_npd", "receiving_stream"),
        ({"product_family": "TAKEN"}, "family_code_in_use", "product_family"),
        ({"npd_stream": "PUMPS"}, "not_npd_stream", "npd_stream"),
        ({"development_hours": "2027-05: 10"}, "hours_after_launch", "development_hours[2027-05]"),
        ({"ramp": "10, x"}, "not_a_number", "ramp[1]"),
        ({"planned_month": "April"}, "bad_month", "planned_month"),
    ],
)
def test_bad_input_is_a_clear_error_and_nothing_is_written(
    npd, pumps, executive, cycle, change, code, field
):
    ValueStreamFactory(code="NPD2", kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT)
    from tests.factories import ProductFamilyFactory

    ProductFamilyFactory(code="TAKEN", value_stream=pumps)
    families = ProductFamily.objects.count()
    with pytest.raises(ValidationFailed) as err:
        launch_create(cycle=cycle, user=executive, data=_data(**change))
    assert [(p.code, p.field) for p in err.value.problems] == [(code, field)]
    assert err.value.problems[0].message  # a sentence people read
    assert ProductFamily.objects.count() == families and not Launch.objects.exists()
    assert not AuditEvent.objects.filter(object_type="launch").exists()


def test_every_problem_is_listed_at_once(npd, pumps, executive, cycle):
    with pytest.raises(ValidationFailed) as err:
        launch_create(
            cycle=cycle,
            user=executive,
            data=_data(planned_month="2026-10", receiving_stream="NPD", product_family=""),
        )
    codes = {p.code for p in err.value.problems}
    assert {"launch_before_cycle", "receiving_stream_is_npd", "required"} <= codes


def test_who_may_not_change_launches(npd, pumps, cycle, npd_manager):
    planner = UserFactory(username="npd_planner")
    MembershipFactory(user=planner, value_stream=npd, role=Membership.Role.PLANNER)
    other_manager = UserFactory(username="pumps_manager")
    MembershipFactory(user=other_manager, value_stream=pumps, role=Membership.Role.MANAGER)
    finance = UserFactory(username="fin2", roles=["finance"])
    sales = UserFactory(username="sal2", roles=["sales"])
    for user in (planner, other_manager, finance, sales):
        with pytest.raises(PermissionDenied):
            launch_create(cycle=cycle, user=user, data=_data())
    assert not Launch.objects.exists()
    launch = launch_create(cycle=cycle, user=npd_manager, data=_data())
    for user in (planner, other_manager, finance, sales):
        with pytest.raises(PermissionDenied):
            launch_update(launch=launch, user=user, changes={"note": "x"}, version=1)
    launch.refresh_from_db()
    assert launch.version == 1 and launch.note == ""


def test_updates_grow_the_version_keep_history_and_refuse_a_stale_version(
    npd, pumps, npd_manager, executive, cycle
):
    launch = launch_create(cycle=cycle, user=npd_manager, data=_data())
    launch = launch_update(
        launch=launch,
        user=executive,
        changes={"planned_month": "2027-06", "ramp": [5, 10]},
        version=1,
    )
    assert launch.version == 2 and launch.planned_month == dt.date(2027, 6, 1)
    history = AuditEvent.objects.filter(object_type="launch", action="launch_update")
    assert {(e.field, e.old, e.new, e.user.username) for e in history} == {
        ("planned_month", "2027-04", "2027-06", "exec"),
        ("ramp", "10, 20, 40", "5, 10", "exec"),
    }
    with pytest.raises(VersionConflict) as err:
        launch_update(launch=launch, user=npd_manager, changes={"note": "late"}, version=1)
    assert err.value.conflicts[0]["version"] == 2
    launch.refresh_from_db()
    assert launch.note == "" and launch.version == 2


def test_launched_needs_an_actual_month_that_has_started(npd, pumps, executive, cycle):
    launch = launch_create(cycle=cycle, user=executive, data=_data())
    with pytest.raises(ValidationFailed) as err:
        launch_update(launch=launch, user=executive, changes={"status": "launched"}, version=1)
    assert err.value.problems[0].code == "actual_month_required"
    with pytest.raises(ValidationFailed) as err:
        launch_update(
            launch=launch,
            user=executive,
            changes={"status": "launched", "actual_month": "2029-01"},
            version=1,
        )
    assert err.value.problems[0].code == "actual_month_future"
    launch = launch_update(
        launch=launch,
        user=executive,
        changes={"status": "launched", "actual_month": "2027-04"},
        version=1,
    )
    assert launch.actual_month == dt.date(2027, 4, 1)


def test_a_frozen_cycle_refuses_launch_changes(npd, pumps, executive, cycle):
    launch = launch_create(cycle=cycle, user=executive, data=_data())
    cycle.status = CycleStatus.APPROVED
    cycle.approved_at = dt.datetime(2027, 1, 8, tzinfo=dt.UTC)
    cycle.save()
    with pytest.raises(FrozenCycleError):
        launch_update(launch=launch, user=executive, changes={"note": "x"}, version=1)
    with pytest.raises(FrozenCycleError):
        launch_create(cycle=cycle, user=executive, data=_data(product_family="OTHER"))
    assert Launch.objects.get().version == 1


def test_development_hours_count_in_the_npd_streams_required_hours(npd, pumps, executive, cycle):
    launch_create(cycle=cycle, user=executive, data=_data())
    st = cycle_projection(cycle=cycle).stream
    npd_rows = st[st["value_stream"] == "NPD"].set_index(st[st["value_stream"] == "NPD"]["month"])
    assert npd_rows["required_hours"].iloc[:4].tolist() == [100.0, 120.0, 80.0, 0.0]
    # Cancelled: the hours leave the plan (and so does the family).
    launch = Launch.objects.get()
    launch_update(launch=launch, user=executive, changes={"status": "cancelled"}, version=1)
    st = cycle_projection(cycle=cycle).stream
    assert st[st["value_stream"] == "NPD"]["required_hours"].sum() == 0
    assert not ProductFamily.objects.get(code="PMP-NEW").active
    assert launches_for_cycle(cycle)[0]["status"] == "cancelled"  # still in the record


def test_use_ramp_copies_the_ramp_into_demand_through_the_write_path(
    npd, pumps, executive, sales_user, cycle
):
    launch_create(cycle=cycle, user=executive, data=_data())
    result = demand_use_ramp(
        cycle=cycle,
        user=sales_user,
        cells=[("PMP-NEW", dt.date(2027, 4, 1), 0), ("PMP-NEW", dt.date(2027, 5, 1), 0)],
    )
    assert len(result.stored) == 2
    demand = dict(
        PlanValue.objects.filter(product_family__code="PMP-NEW", measure="demand").values_list(
            "month", "value"
        )
    )
    assert demand == {dt.date(2027, 4, 1): Decimal("10"), dt.date(2027, 5, 1): Decimal("20")}
    sources = set(
        PlanValueChange.objects.filter(product_family__code="PMP-NEW").values_list(
            "source", flat=True
        )
    )
    assert sources == {PlanValueChange.Source.USE_RAMP}
    # A month outside the ramp: a problem by index, nothing written.
    with pytest.raises(ValidationFailed) as err:
        demand_use_ramp(
            cycle=cycle,
            user=sales_user,
            cells=[("PMP-NEW", dt.date(2027, 6, 1), 0), ("PMP-NEW", dt.date(2027, 9, 1), 0)],
        )
    assert [(p.code, p.index) for p in err.value.problems] == [("no_ramp", 1)]
    assert PlanValue.objects.filter(product_family__code="PMP-NEW").count() == 2


def test_use_ramp_follows_the_demand_rights(npd, pumps, executive, cycle):
    launch_create(cycle=cycle, user=executive, data=_data())
    finance = UserFactory(username="fin3", roles=["finance"])
    with pytest.raises(PermissionDenied):
        demand_use_ramp(cycle=cycle, user=finance, cells=[("PMP-NEW", dt.date(2027, 4, 1), 0)])
    assert not PlanValue.objects.filter(product_family__code="PMP-NEW").exists()


def _approve(cycle, executive):
    cycle.steps.update(status="done")
    return cycle_approve(cycle=cycle, user=executive)


def test_committed_month_roll_forward_and_the_slipped_exception(npd, pumps, executive, company):
    first = CycleFactory(month=M, status="in_progress")
    launch_create(cycle=first, user=executive, data=_data())
    cancelled = launch_create(
        cycle=first, user=executive, data=_data(product_family="PMP-OLD", ramp="")
    )
    launch_update(launch=cancelled, user=executive, changes={"status": "cancelled"}, version=1)
    _approve(first, executive)
    held = Launch.objects.get(cycle=first, product_family__code="PMP-NEW")
    assert held.committed_month == dt.date(2027, 4, 1)

    second, info = cycle_start(month=dt.date(2027, 2, 1), user=executive)
    assert info.launches == 2
    rolled = Launch.objects.get(cycle=second, product_family__code="PMP-NEW")
    assert rolled.committed_month == dt.date(2027, 4, 1) and rolled.version == 1
    assert rolled.development_hours == {"2027-02": 120.0, "2027-03": 80.0}  # Jan is past
    assert Launch.objects.get(cycle=second, product_family__code="PMP-OLD").status == "cancelled"

    assert cycle_analysis(cycle=second).exceptions.query("kind == 'launch_slipped'").empty
    launch_update(launch=rolled, user=executive, changes={"planned_month": "2027-07"}, version=1)
    ex = cycle_analysis(cycle=second).exceptions
    slipped = ex[ex["kind"] == "launch_slipped"]
    assert slipped[["value_stream", "product_family"]].values.tolist() == [["PUMPS", "PMP-NEW"]]
    assert str(slipped["month"].iloc[0]) == "2027-07" and slipped["value"].iloc[0] == 3
    # The frozen cycle's row never changes.
    held.refresh_from_db()
    assert held.planned_month == dt.date(2027, 4, 1) and held.version == 1


# --------------------------------------------------------------- issue 19: every open cycle


def _copies(code: str) -> dict[dt.date, CycleFamily]:
    return {
        c.cycle.month: c
        for c in CycleFamily.objects.filter(product_family__code=code).select_related("cycle")
    }


def test_a_launch_reaches_every_open_cycles_master_copy_and_no_frozen_one(
    npd, pumps, npd_manager, cycle
):
    frozen = CycleFactory(month=dt.date(2026, 11, 1), status="approved")
    earlier = CycleFactory(month=dt.date(2026, 12, 1), status="in_progress")
    later = CycleFactory(month=dt.date(2027, 2, 1), status="draft")
    launch_create(cycle=cycle, user=npd_manager, data=_data())
    copies = _copies("PMP-NEW")
    assert set(copies) == {earlier.month, cycle.month, later.month}
    assert frozen.month not in copies
    for copy in copies.values():
        assert (copy.unit_price, copy.hours_per_unit, copy.active) == (
            Decimal("500"),
            Decimal("2"),
            True,
        )
        assert copy.value_stream_id == pumps.pk


def test_cancelling_a_launch_takes_its_family_out_of_every_open_cycle_keeping_their_prices(
    npd, pumps, npd_manager, cycle
):
    from planning.services.cycle_master import cycle_master_update

    later = CycleFactory(month=dt.date(2027, 2, 1), status="draft")
    launch = launch_create(cycle=cycle, user=npd_manager, data=_data())
    frozen = CycleFactory(month=dt.date(2026, 12, 1), status="draft")
    frozen_copy_before = _copies("PMP-NEW")[frozen.month]
    from django.utils import timezone

    frozen.status, frozen.approved_at = CycleStatus.APPROVED, timezone.now()
    frozen.save(update_fields=["status", "approved_at"])
    # Finance gave the later cycle its own price for the new family.
    cycle_master_update(
        cycle=later, user=None, changes=[{"product_family": "PMP-NEW", "unit_price": "550"}]
    )
    launch = launch_update(
        launch=launch, user=npd_manager, changes={"status": "cancelled"}, version=launch.version
    )
    copies = _copies("PMP-NEW")
    assert not copies[cycle.month].active and not copies[later.month].active
    assert copies[later.month].unit_price == Decimal("550")  # its own price stays
    assert copies[frozen.month].active and copies[frozen.month].pk == frozen_copy_before.pk
    assert not ProductFamily.objects.get(code="PMP-NEW").active
    launch_update(
        launch=launch, user=npd_manager, changes={"status": "planned"}, version=launch.version
    )
    copies = _copies("PMP-NEW")
    assert copies[cycle.month].active and copies[later.month].active
    assert copies[later.month].unit_price == Decimal("550")
