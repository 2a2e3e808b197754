"""The one domain error type that services raise; views and the API map it to HTTP."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule said no. ``status`` is the HTTP code the edges should use."""

    status: int = 400

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    """Input was rejected as a whole; ``errors`` lists every problem once."""

    status = 400

    def __init__(self, message: str, *, errors: list[str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = errors or [message]


class PermissionDenied(ApplicationError):
    """The user may not do this to this value stream or cycle."""

    status = 403


class FrozenCycleError(ApplicationError):
    """The cycle is approved, so its plan never changes again."""

    status = 409


class VersionConflict(ApplicationError):
    """Someone else changed what the user saw; ``conflicts`` holds the current values."""

    status = 409

    def __init__(self, message: str, *, conflicts: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.conflicts = conflicts
