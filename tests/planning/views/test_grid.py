"""The grid's JSON endpoints through the Django client: who may save what, and conflicts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from planning.models import PlanValue, PlanValueChange
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import (
    PASSWORD,
    CycleFactory,
    MembershipFactory,
    ProductFamilyFactory,
    UserFactory,
)

JAN, FEB = dt.date(2027, 1, 1), dt.date(2027, 2, 1)
SAVE = "/cycles/2027-01/grid/A/save/"
DATA = "/cycles/2027-01/grid/A/data/"


@pytest.fixture
def plan(stream_a, stream_b):
    cycle = CycleFactory(month=JAN)
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    ProductFamilyFactory(code="B-1", value_stream=stream_b)
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("A", "A-1", JAN, "demand", Decimal("50")),
            CellInput("A", "A-1", JAN, "production", Decimal("40")),
            CellInput("A", "A-1", JAN, "opening_inventory", Decimal("5")),
            CellInput("", "", JAN, "sustaining_cost", Decimal("1000")),
        ],
        user=None,
    )
    return cycle


def client_for(client, user):
    client.login(username=user.username, password=PASSWORD)
    # The session's first request records its activity (SESSION_IDLE_TIMEOUT), once a
    # minute: make it here so query counts measure the grid alone.
    client.get("/accounts/password/")
    return client


def post(client, url, cells):
    return client.post(url, json.dumps({"cells": cells}), content_type="application/json")


def cell(value, *, family="A-1", measure="demand", month="2027-01", version=1):
    return {
        "family": family,
        "measure": measure,
        "month": month,
        "value": value,
        "version": version,
    }


def demand(cycle, month=JAN, family="A-1"):
    return PlanValue.objects.get(
        cycle=cycle, product_family__code=family, measure="demand", month=month
    ).value


def test_save_returns_new_versions_and_recomputed_rows(client, plan, planner_a):
    res = post(
        client_for(client, planner_a), SAVE, [cell("60"), cell("7", month="2027-02", version=0)]
    )
    assert res.status_code == 200
    body = res.json()
    assert body["versions"] == [2, 1]
    assert body["result"] == {"added": 1, "changed": 1, "unchanged": 0, "deleted": 0}
    rows = {r["id"]: r for r in body["computed"]}
    # 5 + 40 − 60 = −15: the engine's number, flagged as a shortage.
    assert rows["A-1|ending_inventory"]["values"]["m2027-01"] == -15
    assert rows["A-1|ending_inventory"]["flags"]["m2027-01"]["level"] == "bad"
    assert demand(plan) == Decimal("60")
    change = PlanValueChange.objects.filter(measure="demand", month=JAN).first()
    assert (change.old_value, change.new_value, change.changed_by) == (50, 60, planner_a)


def test_save_accepts_thousands_separators(client, plan, planner_a):
    res = post(client_for(client, planner_a), SAVE, [cell("1,234.5")])
    assert res.status_code == 200
    assert demand(plan) == Decimal("1234.5")


def test_stale_version_is_a_409_with_the_current_value_and_who_changed_it(
    client, plan, planner_a, stream_a
):
    other = UserFactory(username="colleague")
    MembershipFactory(user=other, value_stream=stream_a)
    plan_values_upsert(
        cycle=plan, cells=[CellInput("A", "A-1", JAN, "demand", Decimal("70"))], user=other
    )
    res = post(
        client_for(client, planner_a),
        SAVE,
        [cell("90", version=1), cell("3", month="2027-02", version=0)],
    )
    assert res.status_code == 409
    conflict = res.json()["conflicts"][0]
    assert conflict["index"] == 0
    assert Decimal(conflict["current_value"]) == 70
    assert conflict["current_version"] == 2
    assert conflict["changed_by"] == "colleague"
    assert conflict["changed_at"]
    assert demand(plan) == Decimal("70")
    assert not PlanValue.objects.filter(cycle=plan, month=FEB).exists()


def test_empty_cell_filled_by_someone_else_is_a_conflict(client, plan, planner_a):
    plan_values_upsert(
        cycle=plan, cells=[CellInput("A", "A-1", FEB, "demand", Decimal("8"))], user=None
    )
    res = post(client_for(client, planner_a), SAVE, [cell("9", month="2027-02", version=0)])
    assert res.status_code == 409
    assert res.json()["conflicts"][0]["current_version"] == 1


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("abc", "is not a number"),
        ("-5", "must not be negative"),
        ("1.2.3", "is not a number"),
        ("1234,5", "use a dot for decimals"),
    ],
)
def test_bad_values_are_400_per_cell_and_nothing_is_saved(client, plan, planner_a, bad, reason):
    res = post(
        client_for(client, planner_a), SAVE, [cell("60"), cell(bad, month="2027-02", version=0)]
    )
    assert res.status_code == 400
    body = res.json()
    assert list(body["cells"]) == ["1"]
    assert reason in body["cells"]["1"]
    assert demand(plan) == Decimal("50")


def test_a_family_of_another_stream_is_refused_at_its_cell(client, plan, planner_a):
    res = post(client_for(client, planner_a), SAVE, [cell("1", family="B-1", version=0)])
    assert res.status_code == 400
    assert "belongs to value stream 'B'" in res.json()["cells"]["0"]
    assert not PlanValue.objects.filter(product_family__code="B-1").exists()


def test_actual_sales_of_a_future_month_are_refused(client, plan, planner_a):
    res = post(client_for(client, planner_a), SAVE, [cell("5", measure="actual_sales", version=0)])
    assert res.status_code == 400
    assert "months that have started" in res.json()["cells"]["0"]


def test_other_stream_is_403_for_a_member_who_only_views_it(client, plan, planner_a, stream_b):
    MembershipFactory(user=planner_a, value_stream=stream_b, role="viewer")
    res = post(
        client_for(client, planner_a),
        "/cycles/2027-01/grid/B/save/",
        [cell("5", family="B-1", version=0)],
    )
    assert res.status_code == 403
    assert "not a planner or manager of value stream B" in res.json()["detail"]
    assert not PlanValue.objects.filter(product_family__code="B-1").exists()


def test_stream_the_user_cannot_see_is_403(client, plan, planner_a):
    res = post(
        client_for(client, planner_a), "/cycles/2027-01/grid/B/save/", [cell("5", family="B-1")]
    )
    assert res.status_code == 403
    assert client.get("/cycles/2027-01/grid/B/").status_code == 403
    assert client.get("/cycles/2027-01/grid/B/data/").status_code == 403


def test_executive_reads_but_cannot_save_a_stream(client, plan, executive):
    c = client_for(client, executive)
    data = c.get(DATA).json()
    assert data["editable"] is False
    assert "not a planner" in data["readonly_reason"]
    assert post(c, SAVE, [cell("60")]).status_code == 403
    assert demand(plan) == Decimal("50")


def test_frozen_cycle_is_409_for_everyone(client, plan, admin_user):
    plan.status, plan.approved_at = "approved", timezone.now()
    plan.save()
    c = client_for(client, admin_user)
    res = post(c, SAVE, [cell("60")])
    assert res.status_code == 409
    assert res.json()["frozen"] is True
    assert "approved and frozen" in res.json()["detail"]
    assert c.get(DATA).json()["editable"] is False
    assert demand(plan) == Decimal("50")


def test_anonymous_json_is_401_and_the_page_redirects_to_login(client, plan):
    assert post(client, SAVE, [cell("60")]).status_code == 401
    assert client.get(DATA).status_code == 401
    res = client.get("/cycles/2027-01/grid/A/")
    assert res.status_code == 302
    assert "/accounts/login/" in res["Location"]


def test_unknown_cycle_or_stream_is_404(client, plan, planner_a):
    c = client_for(client, planner_a)
    assert c.get("/cycles/2031-01/grid/A/data/").status_code == 404
    assert c.get("/cycles/2027-01/grid/NOPE/").status_code == 404


def test_save_needs_post_and_json(client, plan, planner_a):
    c = client_for(client, planner_a)
    assert c.get(SAVE).status_code == 405
    res = c.post(SAVE, "not json", content_type="application/json")
    assert res.status_code == 400
    assert post(c, SAVE, []).status_code == 400


def test_save_requires_the_csrf_token(plan, planner_a):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.login(username=planner_a.username, password=PASSWORD)
    assert post(c, SAVE, [cell("60")]).status_code == 403
    c.get("/cycles/2027-01/grid/A/")
    token = c.cookies["csrftoken"].value
    res = c.post(
        SAVE,
        json.dumps({"cells": [cell("60")]}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert res.status_code == 200


def test_company_page_sustaining_costs_for_finance_only(client, plan, finance_user, planner_a):
    url = "/cycles/2027-01/company/save/"
    body = [
        {
            "family": "",
            "measure": "sustaining_cost",
            "month": "2027-01",
            "value": "1500",
            "version": 1,
        }
    ]
    c = client_for(client, planner_a)
    assert c.get("/cycles/2027-01/company/").status_code == 403
    assert post(c, url, body).status_code == 403
    c.logout()
    c = client_for(client, finance_user)
    assert c.get("/cycles/2027-01/company/").status_code == 200
    res = post(c, url, body)
    assert res.status_code == 200
    rows = {r["id"]: r for r in res.json()["computed"]}
    assert "|company_profit" in rows
    assert PlanValue.objects.get(measure="sustaining_cost", month=JAN).value == 1500


def test_stream_grid_refuses_company_measures(client, plan, admin_user):
    body = [
        {"family": "", "measure": "sustaining_cost", "month": "2027-01", "value": "1", "version": 1}
    ]
    res = post(client_for(client, admin_user), SAVE, body)
    assert res.status_code == 400
    assert "company page" in res.json()["cells"]["0"]


def test_history_and_comment(client, plan, planner_a):
    c = client_for(client, planner_a)
    post(c, SAVE, [cell("60")])
    hist = c.get("/cycles/2027-01/grid/A/history/?family=A-1&measure=demand&month=2027-01").json()
    assert hist["version"] == 2
    assert [(h["by"], h["old"], h["new"]) for h in hist["changes"]] == [
        ("planner_a", "50", "60"),
        ("system", None, "50"),
    ]
    url = "/cycles/2027-01/grid/A/comment/"
    payload = {"family": "A-1", "measure": "demand", "month": "2027-01", "text": " Tender "}
    res = c.post(url, json.dumps(payload), content_type="application/json")
    assert res.status_code == 200
    assert res.json()["comment"] == "Tender"
    data = c.get(DATA).json()
    row = next(r for r in data["rows"] if r["id"] == "A-1|demand")
    assert row["comments"] == {"m2027-01": "Tender"}
    # An empty cell takes a comment too ("waiting for ERP") and stays empty.
    empty = {**payload, "month": "2027-05", "text": "waiting for ERP"}
    res = c.post(url, json.dumps(empty), content_type="application/json")
    assert res.status_code == 200 and res.json() == {"comment": "waiting for ERP", "version": 0}
    assert not PlanValue.objects.filter(measure="demand", month=dt.date(2027, 5, 1)).exists()
    row = next(r for r in c.get(DATA).json()["rows"] if r["id"] == "A-1|demand")
    assert row["comments"] == {"m2027-01": "Tender", "m2027-05": "waiting for ERP"}
    assert "m2027-05" not in row["values"] or row["values"]["m2027-05"] is None
    again = {**empty, "text": "ERP feed due Friday"}
    c.post(url, json.dumps(again), content_type="application/json")
    from planning.models import EmptyCellComment

    assert EmptyCellComment.objects.get().text == "ERP feed due Friday"
    cleared = {**empty, "text": ""}
    assert c.post(url, json.dumps(cleared), content_type="application/json").status_code == 200
    assert not EmptyCellComment.objects.exists()


def test_comment_refused_for_a_read_only_user(client, plan, executive):
    payload = {"family": "A-1", "measure": "demand", "month": "2027-01", "text": "x"}
    res = client_for(client, executive).post(
        "/cycles/2027-01/grid/A/comment/", json.dumps(payload), content_type="application/json"
    )
    assert res.status_code == 403
    assert PlanValue.objects.get(measure="demand", month=JAN).comment == ""
    on_empty = {**payload, "month": "2027-06"}
    res = client_for(client, executive).post(
        "/cycles/2027-01/grid/A/comment/", json.dumps(on_empty), content_type="application/json"
    )
    assert res.status_code == 403
    from planning.models import EmptyCellComment

    assert not EmptyCellComment.objects.exists()


def test_grid_data_query_count_does_not_grow_with_the_plan(
    client, plan, planner_a, stream_a, django_assert_max_num_queries
):
    c = client_for(client, planner_a)
    # +1 time-zone middleware, +1 projection fingerprint; issue 15: +1 last approved
    # cycle, +1 comments on empty cells; issue 16: +1 the actual rows' facts (Actual);
    # issue 18: +1 the assumptions covering cells; issue 19: +1 the cycle's launches;
    # issue 21: +1 the codes of the stream and family ids the plan's cells are read by
    with django_assert_max_num_queries(20):
        c.get(DATA)
    families = [ProductFamilyFactory(value_stream=stream_a) for _ in range(10)]
    cells = [
        CellInput("A", f.code, dt.date(2027 + (i // 12), i % 12 + 1, 1), m, Decimal("5"))
        for f in families
        for i in range(18)
        for m in ("demand", "production")
    ]
    plan_values_upsert(cycle=plan, cells=cells, user=None)
    with django_assert_max_num_queries(20):
        res = c.get(DATA)
    # Per family: 5 rows and 4 toggled (last approved, change); the stream: 3 totals + 8.
    assert len(res.json()["rows"]) == 11 * (5 + 4) + 3 + 8


def test_save_query_count_is_constant(client, plan, planner_a, django_assert_max_num_queries):
    c = client_for(client, planner_a)
    many = [cell("7", month=f"2027-{m:02d}", version=1 if m == 1 else 0) for m in range(1, 13)]
    # +1 time-zone middleware, +1 new-id read-back, +1 last approved cycle (issue 15);
    # +2 the stored inputs and the facts the rows' quarter/year subtotals add up;
    # +1 the cycle's launches (issue 19: NPD development hours in the projection);
    # +1 the codes of the stream and family ids the plan's cells are read by (issue 21)
    with django_assert_max_num_queries(29):
        assert post(c, SAVE, many).status_code == 200


def test_live_endpoint_gives_others_edits_since_a_cursor_and_presence(
    client, plan, planner_a, stream_a
):
    from django.test import Client

    from planning.selectors.live import grid_cursor
    from tests.caching import cache_clear
    from tests.factories import MembershipFactory, UserFactory

    cache_clear()
    live = "/cycles/2027-01/grid/A/live/"
    start = grid_cursor(cycle=plan)
    other = UserFactory(username="planner_z", first_name="Zoe", last_name="Z")
    MembershipFactory(user=other, value_stream=stream_a)
    theirs = client_for(Client(), other)
    assert theirs.get(f"{live}?after={start}").json()["cells"] == []
    mine = client_for(client, planner_a)
    assert post(mine, SAVE, [cell("65")]).status_code == 200
    body = theirs.get(f"{live}?after={start}").json()
    assert body["cursor"] > start
    [changed] = body["cells"]
    assert (changed["row"], changed["field"], changed["value"]) == ("A-1|demand", "m2027-01", 65)
    assert changed["version"] == 2 and changed["by"] == "planner_a"
    ending = next(r for r in body["computed"] if r["id"] == "A-1|ending_inventory")
    assert ending["values"]["m2027-01"] == 5 + 40 - 65
    assert body["others"] == []  # planner_a has not polled yet
    assert mine.get(f"{live}?after={body['cursor']}").json()["others"] == ["Zoe Z"]
    assert theirs.get(f"{live}?after={body['cursor']}").json()["cells"] == []
    assert theirs.get(f"{live}?after={body['cursor']}").json()["others"] == ["planner_a"]
    outsider = UserFactory(username="planner_b_only")
    assert client_for(Client(), outsider).get(live).status_code == 403
