"""Property-based run of the live OpenAPI schema: no 500s, no response off the schema.

Schemathesis generates requests (valid and invalid) for every operation from
``/api/v1/schema/`` and calls the real WSGI app with an admin token, against a
database holding a small plan and a frozen cycle.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sofp.wsgi import application

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]

# What the API promises: never a 500, and every answer is documented (status, content
# type, headers, body). Lenient parsing of invalid input (e.g. a bad page_size falls
# back to the default) is allowed, so "negative data accepted" is not checked.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _served_schema() -> dict:
    """What ``/api/v1/schema/?format=json`` serves, built the same way without a request
    (collection runs before the test database exists, and middleware reads it)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))


schema = schemathesis.openapi.from_dict(_served_schema())
schema.app = application  # calls go to the real WSGI app, as with from_wsgi()


def test_the_generated_schema_is_the_served_one(client, db):
    assert client.get("/api/v1/schema/?format=json").json() == _served_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The raw WSGI app closes "old" connections after each request, as in production;
    Django's test client switches that off, and so must we (the test's transaction
    lives on that connection, e.g. on PostgreSQL)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Hundreds of generated requests per operation must not meet the user rate limit."""
    rates = {"anon": None, "user": None}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture(autouse=True)
def _no_printing(monkeypatch):
    """The board pack's endpoint answers a stand-in PDF here instead of starting Chromium
    for each generated request (printing is tested in tests/planning/test_board_pack.py);
    the API path around it — rights, archive, headers, content type — is the real one."""
    import hashlib

    from planning.services import board_pack

    def render(cycle):
        data = b"%PDF-1.4\n% stand-in for " + cycle.label.encode() + b"\n%%EOF\n"
        return board_pack.RenderedPack(
            data=data,
            pages=1,
            sha256=hashlib.sha256(data).hexdigest(),
            filename=board_pack.board_pack_filename(cycle),
        )

    monkeypatch.setattr(board_pack, "board_pack_render", render)


@pytest.fixture
def admin_token(plan, frozen_cycle, admin_user) -> str:
    return Token.objects.get_or_create(user=admin_user)[0].key


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_matches_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)


# The CLI's four phases, one test each: the same checks, operations, examples and seed
# as one run of all four, but each phase starts from the fixtures' data, and xdist can
# run them side by side (together they were the suite's longest test, ~4 minutes, most
# of it the coverage phase).
PHASES = ("examples", "coverage", "fuzzing", "stateful")


@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_schemathesis_cli_with_all_checks_finds_nothing(
    live_server, plan, frozen_cycle, admin_user, tmp_path, phase
):
    """``schemathesis run --checks all`` against the served schema of a live server, as
    a client would run it: every check, every operation (a few examples each), one
    phase at a time."""
    import subprocess
    import sys
    from pathlib import Path

    token = Token.objects.get_or_create(user=admin_user)[0].key
    cli = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(cli),
            "--config-file",
            str(ROOT / "schemathesis.toml"),
            "run",
            f"{live_server.url}/api/v1/schema/?format=json",
            "--url",
            live_server.url,
            "--checks",
            "all",
            "-H",
            f"Authorization: Token {token}",
            "--max-examples",
            "6",
            "--seed",
            "1",
            "--no-color",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "30",
            "--phases",
            phase,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
