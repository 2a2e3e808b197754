"""Logging helpers: request ids on every record and redaction of secrets.

``RequestContextFilter`` copies the current request id (and the user and path, when a
request is being served) onto each record so that JSON logs of one request can be joined.
``RedactSecretsFilter`` masks values of keys such as ``password`` or ``token`` in the
message, its arguments and any ``extra`` so that logs never carry credentials.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.utils.functional import empty

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The request being served, so the filter can name its user once authentication ran.
current_request_var: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "current_request", default=None
)

REDACTED = "[REDACTED]"
SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "csrf",
    "api_key",
    "apikey",
    "sessionid",
)
_SECRET_KEY_RE = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)
# key=value, key: value, "key": "value" and HTTP header forms inside free text.
_WORDS = "|".join(SECRET_WORDS)
_SECRET_PAIR_RE = re.compile(
    r"""(?P<key>["']?[\w-]*(?:""" + _WORDS + r""")[\w-]*["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|(?:Token|Bearer|Basic)\s+\S+|[^\s,;&}]+)""",
    re.IGNORECASE,
)

# Attributes every LogRecord has; anything else came in through ``extra``.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY_RE.search(key))


def redact_text(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return m.group("key") + REDACTED

    return _SECRET_PAIR_RE.sub(repl, text)


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with secret-looking keys masked, recursing into containers."""
    if _depth > 5:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if is_secret_key(k) else redact(v, _depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact(v, _depth + 1) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


_resolving = contextvars.ContextVar("resolving_user", default=False)


def _username(request: Any, *, resolve: bool) -> str:
    """The user of ``request``. Only with ``resolve`` (warnings and errors) is a user that
    the view never looked at loaded from the session; info lines never cost a query."""
    user = getattr(request, "__dict__", {}).get("user")
    if user is None:
        return "-"
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty:
        if not resolve or _resolving.get():
            return "-"
        token = _resolving.set(True)
        try:
            wrapped = user._setupfunc()
        except Exception:  # the database may be why we are logging an error
            return "?"
        finally:
            _resolving.reset(token)
    if not getattr(wrapped, "is_authenticated", False):
        return "anonymous"
    return str(getattr(wrapped, "username", "") or getattr(wrapped, "pk", "?"))


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        request = current_request_var.get()
        if request is not None:
            if not hasattr(record, "user"):
                record.user = _username(request, resolve=record.levelno >= logging.WARNING)
            if not hasattr(record, "path"):
                record.path = getattr(request, "path", "-")
        return True


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            # Redact the formatted message: a secret may sit in the template or the args.
            record.msg = redact_text(record.getMessage())
            record.args = None
            for key, value in list(vars(record).items()):
                if key in _RECORD_ATTRS:
                    continue
                if key == "request":
                    # Django attaches the HttpRequest; its repr is harmless, but its headers
                    # are not. Keep the record picklable and small: method and path only.
                    record.request = f"{getattr(value, 'method', '')} {getattr(value, 'path', '')}"
                    continue
                setattr(record, key, REDACTED if is_secret_key(key) else redact(value))
        except Exception:  # a logging filter must never break the log call
            pass
        return True
