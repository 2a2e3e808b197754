"""What the import commands share: reading the input file and listing its problems."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from sofp.exceptions import ApplicationError


def read_input_file(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"No such file: {path}")
    return file.read_bytes()


def problems_error(path: str, exc: ApplicationError) -> CommandError:
    """A CommandError (exit code 1, no traceback) listing every problem on its own line."""
    errors = getattr(exc, "errors", None) or exc.extra.get("errors") or [exc.message]
    lines = "\n".join(f"  {e}" for e in errors)
    return CommandError(f"{path}: {len(errors)} problem(s); nothing was saved.\n{lines}")
