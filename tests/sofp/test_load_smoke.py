"""A short run of bench/load_test.py (5 users, 5 s) in CI's PostgreSQL + Redis run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")),
        reason="the load test needs PostgreSQL: runs when DATABASE_URL is postgres:// (CI)",
    ),
]


def test_short_load_run_has_no_errors_and_loses_no_value(tmp_path, redis_url, db):
    env = dict(
        os.environ,
        LOAD_DURATION="5",
        LOAD_USERS="5",
        # People start once everyone has signed in, after a first think time: short
        # ones, so five seconds hold enough clicks to check.
        LOAD_THINK_S="0.2,1",
        # Named after this run's database, so parallel runs on one server never collide.
        LOAD_DB=f"{connection.settings_dict['NAME']}_load_smoke",
        LOAD_WORKDIR=str(tmp_path),
    )
    run = subprocess.run(
        [sys.executable, "bench/load_test.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["requests"] > 10
    assert result["errors"] == 0, result["per_name"]
    assert result["values_missing"] == 0, result["missing_examples"]
    assert run.returncode == 0
