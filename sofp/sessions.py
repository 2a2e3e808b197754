"""Browser sessions read from Redis, kept in the database (``SESSION_ENGINE``).

Every signed-in request read its session row from the database: a query before the
page did anything. Django's ``cached_db`` engine reads the cache first and writes both,
so the database stays the record (a Redis restart signs nobody out) and a request with
a warm session costs one cache read instead.

The one change to ``cached_db``: a cache entry lives at most ``SESSION_CACHE_SECONDS``
(not the session's whole remaining age). The cache is tolerant (``sofp.cache``): while
Redis is unreachable a delete is lost silently, so a session ended during an outage (a
log-out, an idle time-out) could linger in Redis once it answers again. Capped, such an
entry is gone minutes later; a session that is still in use is read back from its row.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.cached_db import logger


def _cache_seconds(age: int) -> int:
    cap = int(getattr(settings, "SESSION_CACHE_SECONDS", 300) or 0)
    return min(age, cap) if cap > 0 else age


class SessionStore(CachedDBStore):
    """``cached_db`` with cache entries capped at ``SESSION_CACHE_SECONDS``."""

    def load(self) -> dict:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # invalid keys raise on some backends: as Django, a new session
            data = None
        if data is None:
            row = self._get_session_from_db()
            if not row:
                return {}
            data = self.decode(row.session_data)
            age = self.get_expiry_age(expiry=row.expire_date)
            self._cache.set(self.cache_key, data, _cache_seconds(age))
        return data

    def save(self, must_create: bool = False) -> None:
        super(CachedDBStore, self).save(must_create)  # the row, as the db engine
        try:
            self._cache.set(self.cache_key, self._session, _cache_seconds(self.get_expiry_age()))
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)
