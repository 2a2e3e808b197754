"""Uploaded plan files waiting for the planner's confirmation.

The browser flow is "upload → preview → confirm": the file is kept server-side under
``VAR_DIR/uploads/<token>`` between the two requests and the session remembers which
tokens belong to whom and to which cycle, so nothing is written before the confirm and
nobody can confirm someone else's file.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

SESSION_KEY = "sofp_plan_uploads"
MAX_AGE_SECONDS = 24 * 3600
_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sweep(folder: Path) -> None:
    """Forget files nobody confirmed within a day (cheap: runs on each new upload)."""
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:  # another request removed it first
            pass


def upload_stage(*, session: SessionBase, data: bytes, filename: str, cycle_label: str) -> str:
    folder = _folder()
    _sweep(folder)
    token = uuid.uuid4().hex
    (folder / token).write_bytes(data)
    staged = dict(session.get(SESSION_KEY, {}))
    staged[token] = {"cycle": cycle_label, "name": filename, "size": len(data)}
    session[SESSION_KEY] = staged
    return token


def upload_get(*, session: SessionBase, token: str, cycle_label: str) -> tuple[bytes, dict] | None:
    """The staged file and its details, if ``token`` is this session's file for this cycle."""
    info = session.get(SESSION_KEY, {}).get(token) if _TOKEN_RE.match(token or "") else None
    if not info or info.get("cycle") != cycle_label:
        return None
    path = _folder() / token
    if not path.is_file():
        return None
    return path.read_bytes(), info


def upload_discard(*, session: SessionBase, token: str) -> None:
    staged = dict(session.get(SESSION_KEY, {}))
    if staged.pop(token, None) is not None:
        session[SESSION_KEY] = staged
    if _TOKEN_RE.match(token or ""):
        (_folder() / token).unlink(missing_ok=True)
