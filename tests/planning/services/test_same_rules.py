"""The same rules on every path: actuals only for months that have started, inactive
families and streams refuse writes, comments are clean text, versioned and audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from planning.calendar import month_add
from planning.models import PlanValue, PlanValueChange
from planning.services.plan_values import (
    MAX_COMMENT_LENGTH,
    CellInput,
    plan_value_comment_set,
    plan_values_upsert,
)
from sofp.errors import ValidationFailed, VersionConflict
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db


def codes(exc) -> list[str]:
    return [p.code for p in exc.problems]


@pytest.mark.real_clock
def test_actuals_only_for_months_that_have_started_on_every_path(client_for, family_a, planner_a):
    this_month = timezone.localdate().replace(day=1)
    cycle = CycleFactory(month=this_month)
    api = client_for(planner_a)
    url = f"/api/v1/cycles/{cycle.label}/actuals/"
    nxt = month_add(this_month, 1)
    response = api.post(
        url, [{"product_family": "A-1", "month": f"{nxt:%Y-%m}", "value": 5}], format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["code"] == "future_actual"
    ok = api.post(
        url, [{"product_family": "A-1", "month": f"{this_month:%Y-%m}", "value": 5}], format="json"
    )
    assert ok.status_code == 200, ok.content
    bulk = api.post(
        f"/api/v1/cycles/{cycle.label}/plan-values/bulk/",
        [
            {
                "value_stream": "A",
                "product_family": "A-1",
                "month": f"{nxt:%Y-%m}",
                "measure": "actual_sales",
                "value": 1,
            }
        ],
        format="json",
    )
    assert bulk.status_code == 400 and bulk.json()["errors"][0]["code"] == "future_actual"
    # A file import by a person: the same rule (the service says so, whoever calls).
    with pytest.raises(ValidationFailed) as info:
        plan_values_upsert(
            cycle=cycle,
            cells=[CellInput("A", "A-1", nxt, "actual_sales", Decimal(1), line=2)],
            user=planner_a,
            source="import",
        )
    assert codes(info.value) == ["future_actual"]
    # Plans for future months are of course fine.
    plan_values_upsert(
        cycle=cycle, cells=[CellInput("A", "A-1", nxt, "demand", Decimal(1))], user=planner_a
    )


@pytest.mark.parametrize("who", ["planner_a", "admin_user", "executive", None])
def test_inactive_family_and_stream_refuse_writes_for_every_role(
    request, who, cycle, family_a, stream_a, planner_a
):
    user = None if who is None else request.getfixturevalue(who)
    family_a.active = False
    family_a.save()
    with pytest.raises(ValidationFailed) as info:
        plan_values_upsert(
            cycle=cycle,
            cells=[CellInput("A", "A-1", cycle.month, "demand", Decimal(1))],
            user=user,
        )
    assert "inactive_product_family" in codes(info.value)
    family_a.active = True
    family_a.save()
    stream_a.active = False
    stream_a.save()
    with pytest.raises(ValidationFailed) as info:
        plan_values_upsert(
            cycle=cycle,
            cells=[CellInput("A", "", cycle.month, "available_hours", Decimal(1))],
            user=user,
        )
    assert codes(info.value) == ["inactive_value_stream"]
    assert not PlanValue.objects.exists()


def test_inactive_family_through_the_api_is_a_clear_400(client_for, cycle, family_a, planner_a):
    family_a.active = False
    family_a.save()
    response = client_for(planner_a).post(
        f"/api/v1/cycles/{cycle.label}/plan-values/bulk/",
        [
            {
                "value_stream": "A",
                "product_family": "A-1",
                "month": "2027-01",
                "measure": "demand",
                "value": 1,
            }
        ],
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("inactive_product_family", "product_family")
    assert "inactive" in error["message"]


@pytest.fixture
def filled(cycle, family_a, planner_a):
    plan_values_upsert(
        cycle=cycle,
        cells=[CellInput("A", "A-1", cycle.month, "demand", Decimal(3))],
        user=planner_a,
    )
    return PlanValue.objects.get()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (123, "invalid"),
        (None, "invalid"),
        (["a"], "invalid"),
        ("bad\x00nul", "control_character"),
        ("bell\x07", "control_character"),
        ("x" * (MAX_COMMENT_LENGTH + 1), "too_long"),
    ],
)
def test_bad_comments_are_refused(filled, planner_a, text, code):
    with pytest.raises(ValidationFailed) as info:
        plan_value_comment_set(plan_value=filled, text=text, user=planner_a)
    assert codes(info.value) == [code]
    filled.refresh_from_db()
    assert filled.comment == "" and filled.version == 1


def test_a_comment_change_is_versioned_and_audited(filled, planner_a):
    done = plan_value_comment_set(
        plan_value=filled, text="  Line one\r\nline\ttwo ", user=planner_a
    )
    assert (done.comment, done.version) == ("Line one\nline\ttwo", 2)
    again = plan_value_comment_set(plan_value=filled, text="Line one\nline\ttwo", user=planner_a)
    assert again.version == 2  # unchanged text: nothing to record
    with pytest.raises(VersionConflict):
        plan_value_comment_set(plan_value=filled, text="stale", user=planner_a, version=1)
    plan_value_comment_set(plan_value=filled, text="", user=planner_a, version=2)
    history = list(
        PlanValueChange.objects.filter(comment_changed=True)
        .order_by("pk")
        .values_list("old_comment", "new_comment", "version", "changed_by", "new_value")
    )
    assert history == [
        ("", "Line one\nline\ttwo", 2, planner_a.pk, Decimal(3)),
        ("Line one\nline\ttwo", "", 3, planner_a.pk, Decimal(3)),
    ]
    # A value write with the version read before the comment is stale.
    with pytest.raises(VersionConflict):
        plan_values_upsert(
            cycle=filled.cycle,
            cells=[CellInput("A", "A-1", filled.month, "demand", Decimal(4), version=1)],
            user=planner_a,
            check_versions=True,
        )


def test_grid_comment_endpoint_refuses_control_characters(client, filled, planner_a):
    client.force_login(planner_a)
    response = client.post(
        f"/cycles/{filled.cycle.label}/grid/A/comment/",
        {"family": "A-1", "measure": "demand", "month": "2027-01", "text": "a\x00b"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert dt.date(2027, 1, 1) == filled.month
