"""A Redis cache that degrades to "always a miss" while Redis is unreachable.

The web tier uses the cache only to save work, never to keep state, so an outage of
Redis must cost speed, not requests. Each failure is logged (rate-limited to one line
per ``_LOG_EVERY`` seconds) so operators notice.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
_LOG_EVERY = 30.0
_last_logged = 0.0
_OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)


def _tolerant(default: Callable[..., Any]) -> Callable:
    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
            global _last_logged
            try:
                return method(self, *args, **kwargs)
            except _OUTAGE as exc:
                now = time.monotonic()
                if now - _last_logged > _LOG_EVERY:
                    _last_logged = now
                    logger.warning("cache unavailable, continuing without it: %s", exc)
                return default(*args, **kwargs)

        return wrapper

    return decorate


def _get_default(key: Any, default: Any = None, version: Any = None) -> Any:
    return default


class ClientReusingRedisCacheClient(RedisCacheClient):
    """Django's client builds a new ``redis.Redis`` for every operation, and building one
    fills a table of ~170 response callbacks: about as much CPU as the round trip. The
    client is a thin object over the connection pool and safe to share, so one per pool
    serves every operation (the pool, and what it connects to, are unchanged)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ClientReusingRedisCacheClient

    get = _tolerant(_get_default)(RedisCache.get)
    set = _tolerant(lambda *a, **k: None)(RedisCache.set)
    add = _tolerant(lambda *a, **k: False)(RedisCache.add)
    touch = _tolerant(lambda *a, **k: False)(RedisCache.touch)
    delete = _tolerant(lambda *a, **k: False)(RedisCache.delete)
    has_key = _tolerant(lambda *a, **k: False)(RedisCache.has_key)
    get_many = _tolerant(lambda *a, **k: {})(RedisCache.get_many)
    set_many = _tolerant(lambda keys, *a, **k: list(keys))(RedisCache.set_many)
    delete_many = _tolerant(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _tolerant(lambda *a, **k: False)(RedisCache.clear)
