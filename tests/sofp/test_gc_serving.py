"""A gunicorn worker freezes the loaded app and collects young objects less often."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from sofp.gc_serving import parse_threshold

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "raw, expected",
    [("50000,20,100", (50000, 20, 100)), (" 700 ", (700,)), ("", None), ("  ", None)],
)
def test_thresholds_are_parsed(raw, expected):
    assert parse_threshold(raw) == expected


@pytest.mark.parametrize("raw", ["a,b", "1,2,3,4", "-1", "1,,2"])
def test_odd_thresholds_are_refused(raw):
    with pytest.raises(ValueError):
        parse_threshold(raw)


def test_the_gunicorn_hook_reads_its_knobs(monkeypatch):
    conf = ROOT / "gunicorn.conf.py"
    for key in ("GUNICORN_GC_FREEZE", "GUNICORN_GC_THRESHOLD"):
        monkeypatch.delenv(key, raising=False)
    loaded = runpy.run_path(str(conf))
    assert callable(loaded["post_worker_init"])
    assert loaded["_gc_freeze"] is True
    assert parse_threshold(loaded["_gc_threshold"]) == (10000, 20, 100)
    monkeypatch.setenv("GUNICORN_GC_FREEZE", "false")
    monkeypatch.setenv("GUNICORN_GC_THRESHOLD", "")
    loaded = runpy.run_path(str(conf))
    assert loaded["_gc_freeze"] is False and parse_threshold(loaded["_gc_threshold"]) is None


_WORKER = """
import gc, json, sys
import django
django.setup()
from sofp.gc_serving import tune_for_serving
before = "planning.views.home" in sys.modules
tune_for_serving(freeze=True, threshold=(50000, 20, 100))
print(json.dumps({"before": before, "after": "planning.views.home" in sys.modules,
                  "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))
"""


def test_a_worker_loads_its_views_then_freezes():
    """In a process of its own (as a gunicorn worker): the views are imported before the
    freeze, the app's objects are frozen, the thresholds set."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sofp.settings"}
    out = subprocess.run(
        [sys.executable, "-c", _WORKER], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state["before"] is False and state["after"] is True
    assert state["frozen"] > 10_000
    assert state["threshold"] == [50000, 20, 100]
