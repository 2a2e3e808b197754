"""API fixtures: token clients per user and a small two-stream plan for cycle 2027-01."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import CycleFactory

M = dt.date(2027, 1, 1)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_for():
    """``client_for(user)`` → an APIClient sending the user's token (None = anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def month(i: int) -> dt.date:
    y, m = divmod(M.month - 1 + i, 12)
    return dt.date(M.year + y, m + 1, 1)


@pytest.fixture
def plan(cycle, family_a, family_b):
    """Demand, production and hours for streams A and B, plus a company sustaining cost."""
    cells = [CellInput("", "", M, "sustaining_cost", Decimal("1000"))]
    for fam in (family_a, family_b):
        vs = fam.value_stream.code
        cells.append(CellInput(vs, fam.code, M, "opening_inventory", Decimal("50")))
        for i in range(cycle.horizon):
            cells += [
                CellInput(vs, fam.code, month(i), "demand", Decimal("100") + i),
                CellInput(vs, fam.code, month(i), "production", Decimal("90")),
                CellInput(vs, "", month(i), "available_hours", Decimal("80")),
            ]
    plan_values_upsert(cycle=cycle, cells=cells, user=None)
    return cycle


@pytest.fixture
def frozen_cycle(db):
    return CycleFactory(month=dt.date(2026, 12, 1), status="approved")
