"""Step 4's "Prices and costs" page: finance changes them (history kept), others read,
a frozen cycle refuses, bad input and someone else's change save nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from planning.models import AuditEvent, CycleFamily
from planning.selectors.plans import cycle_master_frame
from tests.factories import PASSWORD, CycleFactory, ProductFamilyFactory

pytestmark = pytest.mark.django_db
URL = "/cycles/2027-01/prices/"


@pytest.fixture
def world(stream_a):
    ProductFamilyFactory(
        code="A-1",
        value_stream=stream_a,
        unit_price=Decimal("100"),
        unit_material_cost=Decimal("40"),
    )
    return CycleFactory(month=dt.date(2027, 1, 1), status="in_progress")


def form(price="100", cost="40", base_price="100", base_cost="40"):
    return {
        "unit_price:A-1": price,
        "base-unit_price:A-1": base_price,
        "unit_material_cost:A-1": cost,
        "base-unit_material_cost:A-1": base_cost,
    }


def family():
    from valuestreams.models import ProductFamily

    return ProductFamily.objects.get(code="A-1")


def test_finance_changes_prices_and_the_cycle_keeps_the_history(client, world, finance_user):
    client.login(username=finance_user.username, password=PASSWORD)
    page = client.get(URL)
    assert page.status_code == 200 and b'name="unit_price:A-1"' in page.content
    res = client.post(URL, form(price="120.5"))
    assert res.status_code == 302
    # The cycle's own copy changes (Master data belongs to the cycle); the master not.
    copy = CycleFamily.objects.get(cycle=world, product_family__code="A-1")
    assert copy.unit_price == Decimal("120.5") and copy.unit_material_cost == 40
    assert family().unit_price == 100
    assert cycle_master_frame(cycle=world).iloc[0]["unit_price"] == 120.5
    (event,) = AuditEvent.objects.filter(cycle=world, action="price")
    assert (event.field, event.note, event.user) == ("unit_price", "A-1", finance_user)
    assert Decimal(event.old) == 100 and Decimal(event.new) == Decimal("120.5")
    assert b"120.5" in client.get(URL).content


@pytest.mark.parametrize("role", ["planner", "sales", "executive"])
def test_others_read_and_are_refused(client, world, role, planner_a, sales_user, executive):
    user = {"planner": planner_a, "sales": sales_user, "executive": executive}[role]
    client.login(username=user.username, password=PASSWORD)
    page = client.get(URL)
    assert page.status_code == 200 and b'name="unit_price:A-1"' not in page.content
    assert client.post(URL, form(price="1")).status_code == 403
    assert family().unit_price == 100 and not AuditEvent.objects.filter(action="price").exists()


def test_bad_numbers_a_stale_form_and_a_frozen_cycle_save_nothing(client, world, finance_user):
    client.login(username=finance_user.username, password=PASSWORD)
    res = client.post(URL, form(price="12x", cost="-1"))
    assert res.status_code == 400
    text = res.content.decode()
    assert "is not a number" in text and "from 0 to" in text
    # Someone else set 110 after this form showed 100.
    f = family()
    f.unit_price = Decimal("110")
    f.save()
    res = client.post(URL, form(price="130"))
    assert res.status_code == 409 and "now 110" in res.content.decode()
    assert family().unit_price == 110
    world.status, world.approved_at = "approved", timezone.now()
    world.save(update_fields=["status", "approved_at"])
    assert b'name="unit_price:A-1"' not in client.get(URL).content
    assert client.post(URL, form(price="140", base_price="110")).status_code == 409
    assert family().unit_price == 110


def test_a_post_without_what_the_form_showed_saves_without_a_500(client, world, finance_user):
    """A script posting only the new number (no ``base-`` fields) has nothing to conflict
    with: it saves (the shared write path reads an empty base as "not shown")."""
    client.login(username=finance_user.username, password=PASSWORD)
    res = client.post(URL, {"unit_price:A-1": "1,250.5"})
    assert res.status_code == 302
    copy = CycleFamily.objects.get(cycle=world, product_family__code="A-1")
    assert copy.unit_price == Decimal("1250.5")
    res = client.post(URL, {"unit_price:A-1": "12", "base-unit_price:A-1": "not a number"})
    assert res.status_code == 302
