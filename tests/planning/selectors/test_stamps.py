"""A stamp moves with edits that cancel out in a sum, and with a rename to a name as
long: the review and the board pack reused under it must never show an old number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from planning.models import CycleFamily
from planning.selectors.board_pack import board_pack_fingerprint
from planning.selectors.stamps import facts_stamp, review_stamp

pytestmark = pytest.mark.django_db


def test_a_price_up_and_a_material_cost_down_that_cancel_in_a_weighted_sum_are_seen(plan):
    copy = CycleFamily.objects.filter(cycle=plan).order_by("pk").first()
    before = review_stamp(plan), facts_stamp(), board_pack_fingerprint(plan)
    # +3 on the price and −1 on the material cost: 3 − 3·1 = 0 under the old weights.
    CycleFamily.objects.filter(pk=copy.pk).update(
        unit_price=copy.unit_price + Decimal("3"),
        unit_material_cost=copy.unit_material_cost - Decimal("1"),
    )
    after = review_stamp(plan), facts_stamp(), board_pack_fingerprint(plan)
    assert [a != b for a, b in zip(before, after, strict=True)] == [True, True, True]


def test_a_stream_renamed_to_a_name_as_long_moves_the_board_pack_fingerprint(plan, family_a):
    stream = family_a.value_stream
    before = board_pack_fingerprint(plan)
    stream.name = "".join(reversed(stream.name)) + "x"
    stream.save()
    moved = board_pack_fingerprint(plan)
    stream.name = stream.name[:-1].upper() + "y"  # same length as the last name
    stream.save()
    assert len({before, moved, board_pack_fingerprint(plan)}) == 3
