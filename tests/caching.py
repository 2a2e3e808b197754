"""Emptying the cache in tests without touching another test worker's keys."""

from __future__ import annotations


def cache_clear() -> None:
    """Empty this test process's cache: only its own keys when the cache is shared."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if isinstance(backend, RedisCache) and backend.key_prefix:
        client = backend._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{backend.key_prefix}:*"))
        if keys:
            client.delete(*keys)
    else:
        backend.clear()
