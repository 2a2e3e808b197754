"""Where SOFP.md's worked example lives: beside the repository in ``shared/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def example_dir() -> Path:
    """SOFP_SHARED_DIR, else ``shared/`` beside the repo, else /work/shared.

    Skips outside CI when none holds ``domain/example``; in CI the example must be there.
    """
    env = os.environ.get("SOFP_SHARED_DIR")
    for candidate in (env, REPO_ROOT.parent / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "domain" / "example").is_dir():
            return Path(candidate) / "domain" / "example"
    reason = "worked example not found (set SOFP_SHARED_DIR to the folder holding domain/)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)
