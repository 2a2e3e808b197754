"""The grid's fast reads (``planning.selectors.grid_inputs``) against a fresh
computation: the save's recomputed rows and the data endpoint's JSON byte for byte, on a
plan with facts in its horizon, a launch's development hours, a last approved plan,
comments on empty cells and random numbers; and each read equal to the ORM's."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import pandas as pd
import pytest
from django.utils import timezone

from planning import engine
from planning.models import EmptyCellComment, PlanValue
from planning.selectors import grid as grid_selectors
from planning.selectors import grid_inputs
from planning.selectors.actuals import grid_actuals
from planning.selectors.cycle_families import cycle_stream_families
from planning.selectors.plans import (
    cycle_or_404,
    cycle_values,
    plan_input,
    projections_forget,
)
from planning.selectors.scenarios import cycle_with_scenario
from planning.services.actuals import ActualInput, actuals_upsert
from planning.services.cycle_master import cycle_master_fill
from planning.services.grid import empty_cell_comment_set
from planning.services.launches import launch_create
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.scenarios import scenario_create
from tests.factories import (
    PASSWORD,
    CycleFactory,
    MembershipFactory,
    ProductFamilyFactory,
    UserFactory,
    ValueStreamFactory,
)
from valuestreams.models import Membership, ValueStream

PREV = dt.date(2026, 9, 1)
M = dt.date(2026, 10, 1)  # a horizon whose first months have started: facts in it
LABEL = f"{M:%Y-%m}"
FAMILIES = ("A-1", "A-2", "A-3")


def _months(start: dt.date, n: int) -> list[dt.date]:
    return [
        dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def _num(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _plan_cells(rng: random.Random, start: dt.date, n: int) -> list[CellInput]:
    cells = []
    for code in FAMILIES:
        cells.append(CellInput("A", code, start, "opening_inventory", _num(rng, 0, 300)))
        for month in _months(start, n):
            if rng.random() < 0.9:
                cells.append(CellInput("A", code, month, "demand", _num(rng, 0, 500)))
            if rng.random() < 0.9:
                cells.append(CellInput("A", code, month, "production", _num(rng, 0, 500)))
    for month in _months(start, n):
        cells.append(CellInput("A", "", month, "available_hours", _num(rng, 100, 900)))
        cells.append(CellInput("A", "", month, "non_productive_hours", _num(rng, 0, 90)))
        cells.append(CellInput("A", "", month, "conversion_cost", _num(rng, 1000, 9000)))
        cells.append(CellInput("", "", month, "sustaining_cost", _num(rng, 100, 900)))
    return cells


@pytest.fixture(params=[1, 7, 42])
def world(request, db):
    """Stream A (three families with random prices and bands, a launch's new family),
    NPD with development hours, an approved plan before the open one, facts in the open
    plan's first months, a comment on an empty cell and a scenario."""
    rng = random.Random(request.param)
    stream = ValueStreamFactory(code="A", name="Stream A")
    npd = ValueStreamFactory(code="NPD", kind=ValueStream.Kind.NEW_PRODUCT_DEVELOPMENT)
    for code in FAMILIES:
        ProductFamilyFactory(
            code=code,
            value_stream=stream,
            unit_price=_num(rng, 50, 500),
            unit_material_cost=_num(rng, 10, 50),
            hours_per_unit=_num(rng, 0, 3),
            dos_min=Decimal(rng.randint(5, 20)),
            dos_max=Decimal(rng.randint(25, 60)),
        )
    ProductFamilyFactory(code="N-1", value_stream=npd)
    ValueStreamFactory(code="E", name="Empty")  # no family: the general path
    previous = CycleFactory(month=PREV)
    plan_values_upsert(cycle=previous, cells=_plan_cells(rng, PREV, 18), user=None)
    previous.status = "approved"
    cycle_master_fill(cycle=previous)
    previous.approved_at = timezone.now()
    previous.save()
    cycle = CycleFactory(month=M)
    plan_values_upsert(cycle=cycle, cells=_plan_cells(rng, M, 18), user=None)
    npd_manager = UserFactory(username="npd_manager")
    MembershipFactory(user=npd_manager, value_stream=npd, role=Membership.Role.MANAGER)
    launch_create(
        cycle=cycle,
        user=npd_manager,
        data={
            "npd_stream": "NPD",
            "receiving_stream": "A",
            "product_family": "A-NEW",
            "family_name": "New one",
            "planned_month": "2027-03",
            "unit_price": "500",
            "unit_material_cost": "200",
            "hours_per_unit": "2",
            "ramp": "10, 20, 40",
            "development_hours": "2026-10: 100, 2026-11: 120, 2027-01: 80",
        },
    )
    facts = [
        ActualInput("A", code, month, "actual_sales", _num(rng, 0, 400))
        for code in FAMILIES
        for month in (dt.date(2026, 8, 1), dt.date(2026, 9, 1), M, dt.date(2026, 11, 1))
    ]
    actuals_upsert(cells=facts, user=None, any_month=True)
    planner = UserFactory(username="planner_a")
    MembershipFactory(user=planner, value_stream=stream)
    empty_cell_comment_set(
        cycle=cycle,
        value_stream=stream,
        family=stream.families.get(code="A-2"),
        measure="demand",
        month=dt.date(2027, 6, 1),
        text="waiting for the tender",
        user=planner,
    )
    PlanValue.objects.filter(
        cycle=cycle, product_family__code="A-3", measure="demand", month=dt.date(2027, 2, 1)
    ).update(comment="price rise")
    executive = UserFactory(username="exec", roles=["executive"])
    scenario_create(cycle=cycle, name="high", user=executive)
    return {"cycle": cycle, "stream": stream, "npd": npd, "planner": planner, "exec": executive}


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def _fresh_rows(monkeypatch, cycle, value_stream) -> list[dict]:
    """The rows as computed without the fast reads: the projection of
    ``cycle_projection`` (nothing reused) and the cells of ``grid_stored_cells``."""
    projections_forget()
    grid_selectors._approved_series.clear()
    with monkeypatch.context() as patch:
        patch.setattr(grid_selectors, "fast_path", lambda cycle, value_stream: False)
        return grid_selectors.grid_computed_rows(cycle=cycle, value_stream=value_stream)


def _fresh_data(monkeypatch, cycle, value_stream) -> dict:
    projections_forget()
    grid_selectors._approved_series.clear()
    with monkeypatch.context() as patch:
        patch.setattr(grid_selectors, "fast_path", lambda cycle, value_stream: False)
        return grid_selectors.grid_data(
            cycle=cycle, value_stream=value_stream, today=timezone.localdate()
        )


def _same(a, b) -> bool:
    return json.dumps(a) == json.dumps(b)


def test_each_fast_read_is_the_orms(world):
    cycle, stream = world["cycle"], world["stream"]
    orm_cells = (
        cycle_values(cycle)
        .filter(value_stream=stream)
        .values_list(
            "product_family__code",
            "month",
            "measure",
            "value",
            "version",
            "comment",
            "updated_by__username",
            "updated_at",
        )
    )
    fast = grid_inputs.stream_cells(cycle=cycle, value_stream=stream)
    assert sorted(fast, key=repr) == sorted(orm_cells, key=repr)
    assert any(c[5] == "price rise" for c in fast) and any(c[3] is None for c in fast) is False
    first, last = dt.date(2025, 10, 1), dt.date(2028, 3, 1)
    facts = grid_inputs.stream_fact_cells(value_stream=stream, first=first, last=last)
    expected = [
        (a.family, a.month, a.measure, a.value, a.version, a.changed_by, a.changed_at)
        for a in grid_actuals(value_stream=stream, first=first, last=last)
    ]
    assert len(facts) == 12 and sorted(facts, key=repr) == sorted(expected, key=repr)
    numbers = grid_inputs.stream_facts(value_stream=stream, first=first, last=last)
    assert sorted(numbers) == sorted(
        (f, m, (d.year - 1970) * 12 + d.month - 1, float(v)) for f, d, m, v, *_ in expected
    )
    notes = EmptyCellComment.objects.filter(cycle=cycle, value_stream=stream)
    assert grid_inputs.stream_empty_notes(cycle=cycle, value_stream=stream) == list(
        notes.values_list("product_family__code", "month", "measure", "text")
    )
    families = cycle_stream_families(cycle=cycle, value_stream=stream)
    assert grid_inputs.stream_families(cycle=cycle, value_stream=stream) == [
        (f.code, f.name) for f in families
    ]
    assert "A-NEW" in [f.code for f in families]


@pytest.mark.parametrize("stream_code", ["A", "NPD"])
def test_the_engine_input_and_projection_are_plan_inputs(world, stream_code):
    cycle = world["cycle"]
    stream = ValueStream.objects.get(code=stream_code)
    fast = grid_inputs.stream_plan_input(cycle=cycle, value_stream=stream)
    slow = plan_input(cycle=cycle, value_streams=[stream])
    pd.testing.assert_frame_equal(fast.master, slow.master)
    columns = list(slow.values.columns)
    pd.testing.assert_frame_equal(
        fast.values.sort_values(columns).reset_index(drop=True),
        slow.values.sort_values(columns).reset_index(drop=True),
    )
    assert fast.value_streams == slow.value_streams
    assert (fast.start, fast.horizon) == (slow.start, slow.horizon)
    pd.testing.assert_frame_equal(fast.development_hours, slow.development_hours)
    if stream_code == "NPD":
        assert len(fast.development_hours) == 3
    a, b = engine.project(fast), engine.project(slow)
    for part in ("family", "stream", "company"):
        pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part), check_exact=True)


def test_data_and_rows_equal_a_fresh_computation(world, client, monkeypatch):
    cycle, stream = world["cycle"], world["stream"]
    res = _login(client, world["planner"]).get(f"/cycles/{LABEL}/grid/A/data/")
    assert res.status_code == 200
    body = res.json()
    fresh = _fresh_data(monkeypatch, cycle, stream)
    for key in ("editable", "readonly_reason", "measures"):
        body.pop(key)
    assert _same(body, fresh)
    # The rows a save answers with, for every stream and the company.
    empty = ValueStream.objects.get(code="E")
    assert grid_inputs.stream_plan_input(cycle=cycle, value_stream=empty) is None
    for vs in [stream, world["npd"], empty, None]:
        fast = grid_selectors.grid_computed_rows(cycle=cycle, value_stream=vs)
        assert _same(fast, _fresh_rows(monkeypatch, cycle, vs))
    # Facts in the horizon reach the actual rows' subtotals.
    rows = {r["id"]: r for r in fresh["rows"]}
    assert rows["A-1|actual_sales"]["values"][f"q{M.year}-4"] is not None


@pytest.mark.parametrize(
    "cells",
    [
        [{"family": "A-1", "measure": "demand", "month": "2027-02", "value": "123.45"}],
        [
            {"family": "A-2", "measure": "production", "month": "2026-12", "value": "7"},
            {"family": "A-3", "measure": "demand", "month": "2027-05", "value": ""},
        ],
        [{"family": "", "measure": "available_hours", "month": "2027-01", "value": "640"}],
        [{"family": "A-1", "measure": "actual_sales", "month": "2026-11", "value": "99"}],
        [{"family": "A-NEW", "measure": "demand", "month": "2027-04", "value": "15"}],
    ],
    ids=["family", "family-clear", "stream", "fact", "launch-family"],
)
def test_a_save_answers_what_a_fresh_computation_gives(world, client, monkeypatch, cells):
    stream = world["stream"]
    client = _login(client, world["planner"])
    body = {"cells": cells}
    res = client.post(
        f"/cycles/{LABEL}/grid/A/save/", json.dumps(body), content_type="application/json"
    )
    assert res.status_code == 200, res.content
    computed = res.json()["computed"]
    assert _same(computed, _fresh_rows(monkeypatch, cycle_or_404(LABEL), stream))
    # The demand view's answer too (its demand rows follow the save).
    res = client.post(
        f"/cycles/{LABEL}/grid/A/save/",
        json.dumps({**body, "view": "demand"}),
        content_type="application/json",
    )
    assert res.status_code == 200
    assert _same(
        res.json()["computed"][: len(computed)],
        _fresh_rows(monkeypatch, cycle_or_404(LABEL), stream),
    )


def test_a_company_save_answers_what_a_fresh_computation_gives(world, client, monkeypatch):
    finance = UserFactory(username="fin", roles=["finance"])
    res = _login(client, finance).post(
        f"/cycles/{LABEL}/company/save/",
        json.dumps(
            {"cells": [{"measure": "sustaining_cost", "month": "2027-03", "value": "4321"}]}
        ),
        content_type="application/json",
    )
    assert res.status_code == 200, res.content
    assert _same(res.json()["computed"], _fresh_rows(monkeypatch, cycle_or_404(LABEL), None))


def test_a_scenario_save_answers_the_scenarios_rows(world, client, monkeypatch):
    res = _login(client, world["planner"]).post(
        f"/cycles/{LABEL}/grid/A/save/?scenario=high",
        json.dumps(
            {"cells": [{"family": "A-1", "measure": "demand", "month": "2027-02", "value": "9"}]}
        ),
        content_type="application/json",
    )
    assert res.status_code == 200, res.content
    seen = cycle_with_scenario(cycle=cycle_or_404(LABEL), name="high")
    fresh = _fresh_rows(monkeypatch, seen, world["stream"])
    assert _same(res.json()["computed"], fresh)
    plan = _fresh_rows(monkeypatch, cycle_or_404(LABEL), world["stream"])
    assert not _same(fresh, plan)  # the scenario's numbers, not the plan's
    assert _same(
        grid_selectors.grid_computed_rows(cycle=cycle_or_404(LABEL), value_stream=world["stream"]),
        plan,
    )


def test_refused_and_conflicting_saves_change_nothing(world, client, monkeypatch):
    cycle, stream = world["cycle"], world["stream"]
    before = _fresh_data(monkeypatch, cycle, stream)
    url = f"/cycles/{LABEL}/grid/A/save/"
    stale = [{"family": "A-1", "measure": "demand", "month": "2026-12", "value": "1", "version": 9}]
    res = _login(client, world["planner"]).post(
        url, json.dumps({"cells": stale}), content_type="application/json"
    )
    assert res.status_code == 409
    bad = [{"family": "A-1", "measure": "demand", "month": "2026-12", "value": "-4"}]
    res = client.post(url, json.dumps({"cells": bad}), content_type="application/json")
    assert res.status_code == 400
    client.logout()
    res = _login(client, world["exec"]).post(
        url,
        json.dumps({"cells": [{**bad[0], "value": "4"}]}),
        content_type="application/json",
    )
    assert res.status_code == 403
    res = client.get(f"/cycles/{LABEL}/grid/A/data/")
    assert res.status_code == 200
    body = res.json()
    for key in ("editable", "readonly_reason", "measures"):
        body.pop(key)
    assert _same(body, before)


def test_an_approved_plan_shows_what_it_was_approved_with(world, client, monkeypatch):
    previous = cycle_or_404(f"{PREV:%Y-%m}")
    assert not grid_inputs.fast_path(previous, world["stream"])
    res = _login(client, world["planner"]).get(f"/cycles/{PREV:%Y-%m}/grid/A/data/")
    assert res.status_code == 200
    body = res.json()
    assert body["readonly_reason"]
    for key in ("editable", "readonly_reason", "measures"):
        body.pop(key)
    assert _same(body, _fresh_data(monkeypatch, previous, world["stream"]))


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_prepared_lookups_find_what_the_orm_finds(world):
    from planning.selectors import plans

    for month in (PREV, M, dt.date(2030, 1, 1)):
        found = grid_inputs.cycle_of_month(month)
        expected = plans.cycle_get_by_label(f"{month:%Y-%m}")
        assert (found is None) == (expected is None)
        if found is not None:
            assert found._state.adding is False and _fields(found) == _fields(expected)
        last = grid_inputs.cycle_last_approved(before=month)
        orm_last = plans.cycle_last_approved(before=month)
        assert (last and _fields(last)) == (orm_last and _fields(orm_last))
    assert grid_inputs.cycle_last_approved(before=PREV) is None
    assert _fields(grid_inputs.cycle_last_approved(before=M)) == _fields(cycle_or_404("2026-09"))
    assert _fields(grid_inputs.active_stream("A")) == _fields(world["stream"])
    assert grid_inputs.active_stream("nope") is None
    ValueStream.objects.filter(code="E").update(active=False)
    assert grid_inputs.active_stream("E") is None


def test_the_thresholds_are_the_companys(db):
    from planning.models import Company
    from planning.selectors.plans import company_thresholds

    assert grid_inputs.thresholds() == company_thresholds()
    company = Company.get()
    company.utilization_warn, company.utilization_over = Decimal("0.8125"), Decimal("1.1")
    company.demand_change_threshold = Decimal("0.333")
    company.save()
    assert grid_inputs.thresholds() == company_thresholds()
    assert grid_inputs.thresholds().utilization_warn == 0.8125


def test_who_sees_a_stream_is_user_can_view_stream(db, stream_a, stream_b):
    from valuestreams.selectors import user_can_view_stream

    gone = ValueStreamFactory(code="GONE", active=False)
    users = [UserFactory(username="nobody"), UserFactory(username="ex", roles=["executive"])]
    for name, stream, role in [
        ("plans_a", stream_a, Membership.Role.PLANNER),
        ("manages_b", stream_b, Membership.Role.MANAGER),
        ("manages_gone", gone, Membership.Role.MANAGER),
        ("in_gone", gone, Membership.Role.PLANNER),
    ]:
        user = UserFactory(username=name)
        MembershipFactory(user=user, value_stream=stream, role=role)
        users.append(user)
    seen = {}
    for user in users:
        for stream in (stream_a, stream_b, gone):
            fast = grid_inputs.user_sees_stream(user=user, value_stream=stream)
            assert fast == user_can_view_stream(user=user, value_stream=stream)
            seen[user.username, stream.code] = fast
    assert seen["plans_a", "A"] and not seen["plans_a", "B"] and not seen["nobody", "A"]
    assert seen["manages_b", "A"] and not seen["manages_gone", "A"] and not seen["in_gone", "A"]


def test_the_live_cursors_are_the_newest_changes(world):
    from planning.models import ActualChange, PlanValueChange
    from planning.selectors.live import grid_actual_cursor, grid_cursor

    cycle = world["cycle"]
    newest = PlanValueChange.objects.filter(cycle=cycle).order_by("-pk").first()
    assert grid_cursor(cycle=cycle) == newest.pk > 0
    assert grid_actual_cursor() == ActualChange.objects.order_by("-pk").first().pk
    seen = cycle_with_scenario(cycle=cycle, name="high")
    assert grid_cursor(cycle=seen) == 0  # nothing changed in the scenario yet
    assert grid_inputs.plan_change_cursor(CycleFactory(month=dt.date(2030, 1, 1))) == 0


def test_the_cells_moments_are_the_orms_on_every_backend(world, client):
    """PostgreSQL reads ``updated_at`` as text and loads each distinct moment once: the
    same aware datetimes (value, zone and all) as the ORM's read."""
    cycle, stream = world["cycle"], world["stream"]
    client = _login(client, world["planner"])
    body = {"cells": [{"family": "A-1", "measure": "demand", "month": "2027-02", "value": "9"}]}
    assert (
        client.post(
            f"/cycles/{LABEL}/grid/A/save/", json.dumps(body), content_type="application/json"
        ).status_code
        == 200
    )
    fast = grid_inputs.stream_cells(cycle=cycle, value_stream=stream)
    orm = grid_inputs._CELLS.rows(cycle_id=cycle.pk, stream_id=stream.pk)
    assert fast == orm and repr(fast) == repr(orm)
    assert [c[7].tzinfo for c in fast] == [c[7].tzinfo for c in orm]
    assert len({c[7] for c in fast}) >= 2  # moments of the plan's writes and of the save
