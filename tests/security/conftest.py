"""Two streams, one planner of A, and a value in each stream: the world the "no" tests use."""

from decimal import Decimal

import pytest

from tests.factories import PlanValueFactory


@pytest.fixture
def world(stream_a, stream_b, family_a, family_b, planner_a, cycle):
    PlanValueFactory(cycle=cycle, product_family=family_a, value=Decimal("11"))
    PlanValueFactory(cycle=cycle, product_family=family_b, value=Decimal("22"))
    return cycle
