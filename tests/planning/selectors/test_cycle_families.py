"""The grid lists the families its cycle plans (the cycle's copy), not today's master:
a frozen plan keeps its rows when a family is deactivated or moved after approval."""

from __future__ import annotations

import datetime as dt

import pytest

from planning.models import CycleFamily
from planning.selectors.cycle_families import cycle_stream_families
from planning.selectors.grid import grid_data
from tests.factories import CycleFactory, ProductFamilyFactory
from valuestreams.models import ProductFamily

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 15)


def _families(cycle, stream) -> list[str]:
    rows = grid_data(cycle=cycle, value_stream=stream, today=TODAY)["rows"]
    return sorted({r["family"] for r in rows if r.get("family")})


def test_frozen_cycle_keeps_a_family_deactivated_and_moved_after_approval(
    family_a, stream_a, stream_b
):
    kept = ProductFamilyFactory(code="A-2", value_stream=stream_a)
    frozen = CycleFactory(month=dt.date(2026, 11, 1), status="approved")
    assert _families(frozen, stream_a) == ["A-1", "A-2"]
    # The live master changes after approval; the frozen copy does not.
    ProductFamily.objects.filter(pk=family_a.pk).update(active=False)
    ProductFamily.objects.filter(pk=kept.pk).update(value_stream=stream_b)
    assert _families(frozen, stream_a) == ["A-1", "A-2"]
    assert _families(frozen, stream_b) == []


def test_open_cycle_lists_what_its_copy_plans(family_a, stream_a):
    ProductFamilyFactory(code="A-2", value_stream=stream_a)
    cycle = CycleFactory(month=dt.date(2026, 12, 1))
    CycleFamily.objects.filter(cycle=cycle, product_family=family_a).update(active=False)
    assert [f.code for f in cycle_stream_families(cycle=cycle, value_stream=stream_a)] == ["A-2"]
    assert _families(cycle, stream_a) == ["A-2"]


def test_cycle_without_copies_reads_the_live_master(family_a, stream_a):
    ProductFamilyFactory(code="A-3", value_stream=stream_a, active=False)
    cycle = CycleFactory(month=dt.date(2026, 12, 1))
    CycleFamily.objects.filter(cycle=cycle).delete()
    assert [f.code for f in cycle_stream_families(cycle=cycle, value_stream=stream_a)] == ["A-1"]


def test_stream_dashboard_of_a_frozen_cycle_keeps_its_families(family_a, stream_a):
    from planning.selectors.dashboards import stream_dashboard

    frozen = CycleFactory(month=dt.date(2026, 11, 1), status="approved")
    ProductFamily.objects.filter(pk=family_a.pk).update(active=False)
    board = stream_dashboard(cycle=frozen, value_stream=stream_a)
    assert [f.code for f in board.families] == ["A-1"]


def test_review_family_filter_of_a_frozen_cycle_uses_its_copy(family_a, stream_a, stream_b):
    from planning.selectors.dashboards import review_page
    from tests.factories import UserFactory

    executive = UserFactory(username="exec_cf", roles=["executive"])
    frozen = CycleFactory(month=dt.date(2026, 11, 1), status="approved")
    # After approval the family leaves the plan and moves stream in the live master.
    ProductFamily.objects.filter(pk=family_a.pk).update(active=False, value_stream=stream_b)
    page = review_page(cycle=frozen, user=executive, streams=[stream_a, stream_b], family="A-1")
    assert 'value="A-1" selected' in page.family_options
    assert page.family.code == "A-1" and page.family.value_stream.code == "A"
