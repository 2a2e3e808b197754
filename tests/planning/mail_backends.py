"""A test e-mail backend that fails as scripted, then delivers to ``mail.outbox``.

It stands in for an SMTP server that drops the connection or refuses a recipient;
``django.core.mail`` and everything above it run for real.
"""

from __future__ import annotations

import threading

from django.core.mail.backends import locmem

_lock = threading.Lock()
SCRIPT: list[BaseException | None] = []


def script(*outcomes: BaseException | None) -> None:
    with _lock:
        SCRIPT[:] = list(outcomes)


class ScriptedBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        with _lock:
            outcome = SCRIPT.pop(0) if SCRIPT else None
        if outcome is not None:
            raise outcome
        return super().send_messages(messages)
