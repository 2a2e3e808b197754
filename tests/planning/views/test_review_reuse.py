"""The review and the closed-month block are reused whole under one-query stamps
(``planning.selectors.stamps``): a hit must show exactly what a fresh computation shows,
whoever wrote meanwhile and by whatever path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from planning.models import Actual, ExceptionAcknowledgement, PlanValue
from planning.selectors.actuals import closed_month_block
from planning.selectors.plans import projections_forget
from tests.conftest import M
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _page(client):
    response = client.get("/review/")
    assert response.status_code == 200
    return response.context["page"]


def _revenue(page, code: str) -> float | None:
    at = [c for c, _ in page.box_columns].index(code)
    row = next(r for r in page.box_rows if r["metric"].column == "revenue")
    return row["cells"][at]["value"]


def _shown(page) -> dict:
    """Everything the page shows, comparable (figures as their JSON)."""
    out = {}
    for f in dataclasses.fields(page):
        value = getattr(page, f.name)
        if f.name == "figures":
            value = {k: json.loads(v.json) for k, v in value.items()}
        elif f.name in ("analysis", "cycle", "approval", "streams", "decisions", "steps"):
            continue  # objects: what they show is in the other fields
        out[f.name] = value
    return out


def _fresh(client) -> dict:
    projections_forget()
    return _shown(_page(client))


def test_review_after_a_grid_save_shows_the_saved_number(client, plan, family_a, planner_a):
    from tests.factories import UserFactory

    executive = UserFactory(username="exec2", roles=["executive"])
    client.force_login(executive)
    before = _page(client)
    assert _page(client) is before  # nothing changed: the page is reused whole
    price = float(family_a.unit_price)
    assert _revenue(before, "A") == pytest.approx(100 * price)

    cell = PlanValue.objects.get(cycle=plan, product_family=family_a, month=M, measure="demand")
    saver = client_class_login(planner_a)
    response = saver.post(
        f"/cycles/{plan.label}/grid/A/save/",
        json.dumps(
            {
                "cells": [
                    {
                        "family": family_a.code,
                        "measure": "demand",
                        "month": f"{M:%Y-%m}",
                        "value": "500",
                        "version": cell.version,
                    }
                ]
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content

    after = _page(client)
    assert after is not before
    assert _revenue(after, "A") == pytest.approx(500 * price)
    assert _shown(after) == _fresh(client)


def client_class_login(user):
    from django.test import Client

    other = Client()
    assert other.login(username=user.username, password=PASSWORD)
    return other


def test_raw_writes_and_acknowledgements_are_seen(client, plan, family_a, executive):
    client.force_login(executive)
    before = _page(client)
    PlanValue.objects.filter(cycle=plan, product_family=family_a, month=M, measure="demand").update(
        value=Decimal("7")
    )
    after = _page(client)
    assert _revenue(after, "A") == pytest.approx(7 * float(family_a.unit_price))
    assert _revenue(before, "A") != _revenue(after, "A")
    assert _shown(after) == _fresh(client)

    first = after.exceptions[0] if after.exceptions else None
    if first is not None:
        ExceptionAcknowledgement.objects.create(
            cycle=plan,
            key=first["key"],
            note="known",
            acknowledged_by=executive,
            acknowledged_at=timezone.now(),
        )
        acked = _page(client)
        assert acked is not after
        assert acked.exceptions[0]["ack"] is not None
        assert _shown(acked)["exception_pages"] == _fresh(client)["exception_pages"]


def test_closed_month_block_sees_a_new_fact(plan, family_a):
    month = dt.date(2026, 12, 1)
    empty = closed_month_block(month=month, value_streams=None)
    assert closed_month_block(month=month, value_streams=None)["blocks"] == empty["blocks"]
    Actual.objects.create(
        value_stream=family_a.value_stream,
        product_family=family_a,
        month=month,
        measure="actual_sales",
        value=Decimal("40"),
    )
    seen = closed_month_block(month=month, value_streams=None)
    assert seen["blocks"] != empty["blocks"]
    projections_forget()
    assert closed_month_block(month=month, value_streams=None)["blocks"] == seen["blocks"]
