"""The assumption register's write path: rules, rights (each "no"), the freeze, versions,
history, the database's own constraints, and rolling open ones forward."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from planning.models import Assumption, AuditEvent
from planning.services.assumptions import (
    assumption_delete,
    assumption_update,
)
from planning.services.cycles import cycle_start
from sofp.errors import FrozenCycleError, PermissionDenied, ValidationFailed, VersionConflict
from tests.factories import CycleFactory, MembershipFactory, ProductFamilyFactory, UserFactory
from tests.planning.assumption_data import FEB, JAN, MAR, approve, assumption_new

pytestmark = pytest.mark.django_db


def _new(cycle, user, **kw):
    return assumption_new(cycle, user, **{"text": "Acme tender won in January", **kw})


def _codes(exc) -> dict[str, str]:
    return {p.field: p.code for p in exc.value.problems}


def test_create_keeps_every_field_and_its_history(cycle, family_a, planner_a):
    a = _new(cycle, planner_a, impact="+50 units/month")
    a.refresh_from_db()
    assert (a.value_stream.code, a.product_family.code, a.measure) == ("A", "A-1", "demand")
    assert (a.first_month, a.last_month, a.status, a.version) == (JAN, MAR, "open", 1)
    assert a.owner == planner_a and a.created_by == planner_a and a.impact == "+50 units/month"
    event = AuditEvent.objects.get(object_type="assumption", object_id=a.pk)
    assert event.action == "create" and event.user == planner_a and "A-1" in event.note


def test_every_problem_is_named_by_field_and_nothing_is_written(
    cycle, family_a, family_b, executive
):
    with pytest.raises(ValidationFailed) as exc:
        _new(cycle, executive, product_family="B-1", first_month=MAR, last_month=JAN, text="  ")
    assert _codes(exc) == {
        "product_family": "family_not_in_stream",
        "last_month": "months_reversed",
        "text": "required",
    }
    with pytest.raises(ValidationFailed) as exc:
        _new(
            cycle,
            executive,
            product_family="",
            measure="available_hours",
            first_month=dt.date(2026, 12, 1),
            last_month=dt.date(2029, 1, 1),
        )
    assert _codes(exc) == {"first_month": "outside_horizon", "last_month": "outside_horizon"}
    with pytest.raises(ValidationFailed) as exc:
        _new(cycle, executive, measure="available_hours")  # a stream measure with a family
    assert _codes(exc) == {"product_family": "family_on_stream_measure"}
    with pytest.raises(ValidationFailed) as exc:
        _new(cycle, executive, measure="actual_sales", value_stream="NOPE", product_family="X")
    assert _codes(exc)["measure"] == "bad_measure"
    assert _codes(exc)["value_stream"] == "unknown_value_stream"
    with pytest.raises(ValidationFailed) as exc:
        _new(cycle, executive, measure="opening_inventory", first_month=FEB, last_month=FEB)
    assert _codes(exc) == {"first_month": "opening_inventory_month"}
    assert not Assumption.objects.exists()


def test_rights_follow_the_table_each_no(
    cycle, family_a, family_b, planner_a, sales_user, finance_user, executive, stream_b
):
    # Planner: its stream, any measure; never another stream.
    _new(cycle, planner_a, measure="production")
    with pytest.raises(PermissionDenied):
        _new(cycle, planner_a, value_stream="B", product_family="B-1")
    # Sales (assigned to no stream: all of them): demand only.
    _new(cycle, sales_user, value_stream="B", product_family="B-1")
    with pytest.raises(PermissionDenied):
        _new(cycle, sales_user, measure="production")
    # Sales assigned to stream A: demand of A only.
    assigned = UserFactory(username="sal_a", roles=["sales"])
    MembershipFactory(user=assigned, value_stream=family_a.value_stream, role="viewer")
    _new(cycle, assigned)
    with pytest.raises(PermissionDenied):
        _new(cycle, assigned, value_stream="B", product_family="B-1")
    with pytest.raises(PermissionDenied):
        _new(cycle, assigned, measure="production")
    # A viewer reads, never writes.
    viewer = UserFactory(username="viewer_b")
    MembershipFactory(user=viewer, value_stream=stream_b, role="viewer")
    with pytest.raises(PermissionDenied):
        _new(cycle, viewer, value_stream="B", product_family="B-1")
    # Finance reads, never writes assumptions.
    with pytest.raises(PermissionDenied):
        _new(cycle, finance_user, measure="conversion_cost", product_family="")
    # A manager of B reads A but changes B only.
    manager_b = UserFactory(username="mgr_b")
    MembershipFactory(user=manager_b, value_stream=stream_b, role="manager")
    with pytest.raises(PermissionDenied):
        _new(cycle, manager_b)
    _new(cycle, manager_b, value_stream="B", product_family="", measure="available_hours")
    # Executives: every stream and measure.
    a = _new(cycle, executive, value_stream="B", product_family="", measure="conversion_cost")
    # Changing someone's assumption needs the same rights.
    with pytest.raises(PermissionDenied):
        assumption_update(assumption=a, user=planner_a, version=1, changes={"status": "retired"})
    with pytest.raises(PermissionDenied):
        assumption_delete(assumption=a, user=sales_user)
    # Moving one into a stream you may not change is refused too.
    mine = _new(cycle, planner_a)
    with pytest.raises(PermissionDenied):
        assumption_update(
            assumption=mine,
            user=planner_a,
            version=1,
            changes={"value_stream": "B", "product_family": "B-1"},
        )


def test_a_frozen_cycle_refuses_every_change_admins_included(family_a, admin_user):
    cycle = CycleFactory(month=JAN)
    a = _new(cycle, admin_user)
    approve(cycle)
    with pytest.raises(FrozenCycleError):
        _new(cycle, admin_user)
    with pytest.raises(FrozenCycleError):
        assumption_update(assumption=a, user=admin_user, version=1, changes={"status": "retired"})
    with pytest.raises(FrozenCycleError):
        assumption_delete(assumption=a, user=admin_user)
    a.refresh_from_db()
    assert (a.status, a.version) == ("open", 1)


def test_changes_are_versioned_and_each_field_is_in_the_history(cycle, family_a, planner_a):
    a = _new(cycle, planner_a)
    a = assumption_update(
        assumption=a,
        user=planner_a,
        version=1,
        changes={"status": "confirmed", "last_month": FEB, "text": "Tender signed"},
    )
    assert (a.version, a.status, a.last_month, a.text) == (2, "confirmed", FEB, "Tender signed")
    with pytest.raises(VersionConflict) as exc:
        assumption_update(assumption=a, user=planner_a, version=1, changes={"status": "retired"})
    assert exc.value.conflicts[0]["version"] == 2
    same = assumption_update(
        assumption=a, user=planner_a, version=2, changes={"status": "confirmed"}
    )
    assert same.version == 2  # nothing changed, nothing recorded
    history = AuditEvent.objects.filter(object_type="assumption", object_id=a.pk)
    changed = {(e.field, e.old, e.new) for e in history.exclude(action="create")}
    assert changed == {
        ("status", "open", "confirmed"),
        ("last_month", "2027-03", "2027-02"),
        ("text", "Acme tender won in January", "Tender signed"),
    }
    with pytest.raises(ValidationFailed):
        assumption_update(assumption=a, user=planner_a, version=2, changes={"status": "maybe"})
    # The cycle page's history names them.
    from planning.selectors.cycles import cycle_history

    subjects = {e.subject for e in cycle_history(cycle=cycle)}
    assert f"Assumption {a.pk} · status changed" in subjects
    assert f"Assumption {a.pk} · create" in subjects


def test_delete_keeps_the_history(cycle, family_a, planner_a):
    a = _new(cycle, planner_a)
    pk = a.pk
    with pytest.raises(VersionConflict):
        assumption_delete(assumption=a, user=planner_a, version=7)
    assumption_delete(assumption=a, user=planner_a, version=1)
    assert not Assumption.objects.filter(pk=pk).exists()
    actions = set(
        AuditEvent.objects.filter(object_type="assumption", object_id=pk).values_list(
            "action", flat=True
        )
    )
    assert actions == {"create", "delete"}


def _raw(cycle, **kw):
    fields = {
        "cycle": cycle,
        "measure": "demand",
        "first_month": JAN,
        "last_month": FEB,
        "text": "x",
    }
    fields.update(kw)
    with transaction.atomic():
        Assumption.objects.create(**fields)


def test_the_database_refuses_what_the_service_refuses(cycle, family_a, family_b):
    stream_a = family_a.value_stream
    _raw(cycle, value_stream=stream_a, product_family=family_a)  # fine
    bad = [
        {"value_stream": stream_a, "first_month": MAR, "last_month": JAN},
        {"value_stream": stream_a, "measure": "actual_sales"},
        {"value_stream": stream_a, "measure": "available_hours", "product_family": family_a},
        {"value_stream": stream_a, "status": "maybe"},
        {"value_stream": stream_a, "text": ""},
        {"value_stream": stream_a, "first_month": dt.date(2027, 1, 15)},
        {"value_stream": stream_a, "product_family": family_b},  # the trigger
    ]
    for fields in bad:
        with pytest.raises(IntegrityError):
            _raw(cycle, **fields)
    a = Assumption.objects.get()
    a.product_family = family_b
    with pytest.raises(IntegrityError), transaction.atomic():
        a.save()


def test_open_assumptions_roll_forward_with_the_plan(family_a, family_b, planner_a, executive):
    previous = CycleFactory(month=dt.date(2026, 12, 1), horizon=6)
    dec = dt.date(2026, 12, 1)
    kept = _new(previous, planner_a, first_month=dec, last_month=MAR, impact="+50")
    ended = _new(previous, planner_a, first_month=dec, last_month=dec, text="December only")
    confirmed = _new(previous, planner_a, text="Confirmed one")
    retired = _new(previous, planner_a, text="Retired one")
    stream_wide = _new(
        previous,
        executive,
        value_stream="B",
        product_family="",
        measure="available_hours",
        first_month=FEB,
        last_month=dt.date(2027, 5, 1),
        text="Second shift from February",
    )
    assumption_update(
        assumption=confirmed, user=planner_a, version=1, changes={"status": "confirmed"}
    )
    assumption_update(assumption=retired, user=planner_a, version=1, changes={"status": "retired"})
    moved = ProductFamilyFactory(code="A-2", value_stream=family_a.value_stream)
    gone = _new(previous, planner_a, product_family="A-2", text="Family leaves the plan")
    moved.active = False
    moved.save()
    approve(previous)

    cycle, info = cycle_start(month=JAN, user=executive)
    rolled = {a.rolled_from_id: a for a in Assumption.objects.filter(cycle=cycle)}
    assert set(rolled) == {kept.pk, stream_wide.pk}
    assert info.assumptions == 2
    a = rolled[kept.pk]
    assert (a.first_month, a.last_month, a.status, a.version) == (JAN, MAR, "open", 1)
    assert (a.text, a.impact, a.owner, a.product_family) == (
        kept.text,
        "+50",
        planner_a,
        family_a,
    )
    b = rolled[stream_wide.pk]
    assert (b.first_month, b.last_month, b.product_family) == (FEB, dt.date(2027, 5, 1), None)
    assert ended.pk not in rolled and gone.pk not in rolled
    assert (
        AuditEvent.objects.filter(
            cycle=cycle, object_type="assumption", action="roll_forward"
        ).count()
        == 2
    )
    # The frozen cycle's register is untouched.
    assert Assumption.objects.filter(cycle=previous).count() == 6
