"""API tests start with fresh throttle counters (the plan and clients are in tests/conftest)."""

from __future__ import annotations

import pytest

from tests.caching import cache_clear


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache; each test starts from zero."""
    cache_clear()
    yield
    cache_clear()
