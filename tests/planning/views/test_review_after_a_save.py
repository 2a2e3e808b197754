"""The review and the stream dashboard after a write: what a reader gets from the reused
parts (projections, forecast value added with its table and chart, the closed-month
block and its HTML, the figures' JSON) must be the very HTML a cold computation gives,
for a save in a family's, a stream's and the company's cells, a change of the cycle's
master copy (a price), a new assumption, and on the frozen cycle's review beside them.

The company and the pages before a write are the same for every write: one test builds
and checks them once, then runs each write from that data (``each_from_here``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from planning.models import CycleFamily
from tests.clock import pin_day
from tests.planning.views.review_pages import (
    MONTH,
    bump,
    company_readers,
    cycle,
    each_from_here,
    pages_html,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today_is_in_the_cycle(monkeypatch):
    pin_day(monkeypatch, dt.datetime(2027, 1, 15, 11, tzinfo=dt.UTC))


@pytest.fixture
def readers(db, executive):
    return company_readers(executive)


PAGES = (
    ("executive", "/review/"),
    ("executive", "/review/?month=2027-03"),
    ("executive", "/review/?family=S01-F001"),
    ("planner", "/review/"),
    ("executive", "/value-streams/S01/"),
    ("executive", "/value-streams/S02/?month=2027-02"),
    ("planner", "/value-streams/S01/"),
    ("executive", "/cycles/2026-12/review/"),  # approved (frozen)
)


def _assert_reused_equals_cold(readers, case: str) -> dict:
    reused = pages_html(readers, PAGES)
    cold = pages_html(readers, PAGES, cold=True)
    for page, html in cold.items():
        assert reused[page] == html, (case, page)
    return cold


def _assumption() -> None:
    """An assumption behind the family's change (the review lists it beside the
    changes): the page is built again with it."""
    from planning.models import Assumption
    from valuestreams.models import ProductFamily

    family = ProductFamily.objects.get(code="S01-F001")
    bump(product_family=family, measure="demand", month=MONTH)
    Assumption.objects.create(
        cycle=cycle(),
        value_stream=family.value_stream,
        product_family=family,
        measure="demand",
        first_month=MONTH,
        last_month=dt.date(2027, 3, 1),
        text="Tender <won> & signed",
        impact="+37 units",
    )


def _fact() -> None:
    """A fact of the last closed month: accuracy, forecast value added and the
    closed-month block (kept under the facts' part of the review's stamp) move."""
    from planning.models import Actual

    fact = Actual.objects.filter(month=dt.date(2026, 12, 1), measure="actual_sales").first()
    Actual.objects.filter(pk=fact.pk).update(
        value=F("value") + Decimal("11"), version=F("version") + 1, updated_at=timezone.now()
    )


WRITES = {
    "family cell": lambda: bump(product_family__code="S01-F001", measure="demand"),
    "stream cell": lambda: bump(
        value_stream__code="S02", product_family__isnull=True, measure__in=["available_hours"]
    ),
    "company cell": lambda: bump(value_stream__isnull=True),
    "price": lambda: CycleFamily.objects.filter(
        cycle=cycle(), product_family__code="S00-F002"
    ).update(unit_price=F("unit_price") + 3, unit_material_cost=F("unit_material_cost") - 1),
    "assumption": _assumption,
    "fact": _fact,
}


def test_pages_after_a_write_are_what_a_cold_computation_shows(readers):
    """Before any write the reused pages are the cold ones; then each write, from that
    same data and with the parts the pages before it kept, as its own case."""
    before = _assert_reused_equals_cold(readers, "before any write")
    for write, run in WRITES.items():
        with each_from_here():
            run()
            after = _assert_reused_equals_cold(readers, write)
            changed = [page for page in after if after[page] != before[page]]
            # The write shows on the open cycle's pages; the frozen cycle's review stays.
            assert ("executive", "/review/") in changed, write
            if write != "fact":  # a fact of December shows on December's review too
                assert ("executive", "/cycles/2026-12/review/") not in changed, write
            if write == "assumption":
                assert "Tender &lt;won&gt; &amp; signed" in after[("executive", "/review/")]


def test_one_closed_month_block_serves_the_company_and_a_stream_reader(readers):
    """The block's HTML is kept with the block, per what the page shows of it: the
    planner's review leaves the company's block out, the executive's shows it."""
    first = pages_html(readers, PAGES)
    again = pages_html(readers, PAGES)  # every part reused, in another order of readers
    assert again == first
    executive, planner = first[("executive", "/review/")], first[("planner", "/review/")]
    assert executive.count('id="closed-month"') == planner.count('id="closed-month"') == 1
    assert _assert_reused_equals_cold(readers, "no write") == first


def test_the_facts_part_of_the_review_stamp_is_the_facts_stamp(readers):
    from planning.models import Actual
    from planning.selectors.stamps import facts_of, facts_stamp, review_stamp

    assert facts_of(review_stamp(cycle())) == facts_stamp()
    bump(product_family__code="S01-F001", measure="demand")  # the plan moves, not the facts
    assert facts_of(review_stamp(cycle())) == facts_stamp()
    before = facts_stamp()
    Actual.objects.filter(pk=Actual.objects.order_by("pk").first().pk).update(value=F("value") + 1)
    assert facts_of(review_stamp(cycle())) == facts_stamp() != before
