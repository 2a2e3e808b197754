"""The Redis cache reuses one client per connection pool (sofp/cache.py)."""

from __future__ import annotations

import uuid

import pytest

from sofp.cache import ResilientRedisCache


@pytest.mark.redis
def test_one_client_serves_every_operation(redis_url):
    cache = ResilientRedisCache(redis_url, {"KEY_PREFIX": f"t-{uuid.uuid4().hex}"})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("k", {"a": 1}, 30)
    assert cache.get("k") == {"a": 1}
    assert cache.get_many(["k", "missing"]) == {"k": {"a": 1}}
    assert cache._cache.get_client() is client
    cache.delete("k")
    assert cache.get("k") is None
