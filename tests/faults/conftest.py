"""Fault tests: some need the real PostgreSQL (CI's second run sets DATABASE_URL)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (CI's second run)")
    yield
    connection.close()  # a test that terminated backends cut this one too; reconnect cleanly


@pytest.fixture(scope="session")
def load_test_module():
    """bench/load_test.py as a module: its gunicorn launcher serves the fault tests too."""
    spec = importlib.util.spec_from_file_location("sofp_load_test", ROOT / "bench" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
