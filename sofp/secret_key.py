"""Whether a ``SECRET_KEY`` is fit for production (read by the settings at start-up)."""

from __future__ import annotations

from collections.abc import Iterable

MIN_LENGTH = 50
MIN_UNIQUE = 10
# Keys that appear in docs, examples and templates (and so are known to everyone).
KNOWN_WEAK = (
    "changeme",
    "change-me",
    "secret",
    "your-secret-key",
    "django-insecure",
    "dev",
    "development",
    "insecure",
)


def secret_key_weakness(key: str, *, known: Iterable[str] = ()) -> str:
    """Why ``key`` is weak, or "" when it is fine. Weak: a known or default key, one
    starting with ``django-insecure``, shorter than 50 characters or with fewer than 10
    different characters (Django's own check asks for 50 and 5)."""
    text = key.strip()
    lowered = text.lower()
    if text in set(known) or lowered in KNOWN_WEAK:
        return "it is a default or published key"
    if lowered.startswith("django-insecure"):
        return "it starts with 'django-insecure'"
    if len(text) < MIN_LENGTH:
        return f"it has {len(text)} characters; use at least {MIN_LENGTH}"
    if len(set(text)) < MIN_UNIQUE:
        return f"it uses only {len(set(text))} different characters"
    return ""
