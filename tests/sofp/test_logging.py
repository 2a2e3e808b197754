"""Request ids, JSON log lines with user and path, and secrets never logged."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings as django_settings
from django.test import Client

from sofp.log import REDACTED, RedactSecretsFilter, RequestContextFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """Captures what the configured JSON formatter writes, through the real filters."""
    from pythonjsonlogger.json import JsonFormatter

    spec = dict(django_settings.LOGGING["formatters"]["json"])
    spec.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**{"fmt": spec.pop("format"), **spec}))
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactSecretsFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    root.removeHandler(handler)


def test_a_request_id_is_generated_and_returned(client):
    first = client.get("/health/live")["X-Request-ID"]
    second = client.get("/health/live")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_the_proxys_request_id_is_kept(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="edge-abc.123")
    assert response["X-Request-ID"] == "edge-abc.123"


def test_a_malformed_request_id_is_replaced(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="x" * 300)
    assert response["X-Request-ID"] != "x" * 300
    response = client.get("/health/live", HTTP_X_REQUEST_ID="bad id\n<script>")
    assert "<" not in response["X-Request-ID"]


@pytest.mark.urls("tests.sofp.urls_faulty")
def test_log_lines_of_a_request_carry_its_id(client, json_log):
    response = client.get("/test/ok/", HTTP_X_REQUEST_ID="rid-1")
    assert response.status_code == 200
    line = next(r for r in json_log() if r["message"] == "fine")
    assert line["request_id"] == "rid-1"
    assert line["path"] == "/test/ok/"
    assert line["level"] == "INFO"
    assert line["logger"] == "sofp.tests"


@pytest.mark.urls("tests.sofp.urls_faulty")
def test_an_error_is_logged_with_user_and_path_and_without_secrets(planner_a, json_log):
    client = Client(raise_request_exception=False)
    client.force_login(planner_a)
    response = client.get("/test/broken/", HTTP_AUTHORIZATION="Token very-secret-token")
    assert response.status_code == 500
    lines = json_log()
    raw = json.dumps(lines)
    assert "hunter2-secret" not in raw
    assert "tok-123" not in raw
    assert "very-secret-token" not in raw
    ours = next(r for r in lines if r["logger"] == "sofp.tests")
    assert ours["token"] == REDACTED
    assert ours["cell"] == "PUMPS/2027-01"
    assert ours["user"] == "planner_a"
    assert ours["path"] == "/test/broken/"
    crash = next(r for r in lines if r["logger"] == "django.request")
    assert crash["level"] == "ERROR"
    assert crash["user"] == "planner_a"
    assert crash["request_id"] == response["X-Request-ID"]
    assert "OperationalError" in crash.get("exc_info", "")


def test_redaction_masks_secret_keys_in_extra_and_pairs_in_text():
    record = logging.makeLogRecord(
        {
            "msg": "login failed for %s with password=%s",
            "args": ("bob", "p@ss"),
            "csrfmiddlewaretoken": "abc",
            "data": {"username": "bob", "password": "p@ss", "nested": {"api_key": "k"}},
        }
    )
    RedactSecretsFilter().filter(record)
    assert record.csrfmiddlewaretoken == REDACTED
    assert record.data == {
        "username": "bob",
        "password": REDACTED,
        "nested": {"api_key": REDACTED},
    }
    message = record.getMessage()
    assert "bob" in message
    assert "p@ss" not in message
    assert message.endswith(f"password={REDACTED}")
    assert RedactSecretsFilter().filter(logging.makeLogRecord({"msg": "Cookie: sessionid=zz"}))


def test_redaction_masks_secret_text_in_messages():
    record = logging.makeLogRecord({"msg": 'body {"password": "x1", "token": "y2"} Cookie: a=b'})
    RedactSecretsFilter().filter(record)
    text = record.getMessage()
    assert "x1" not in text and "y2" not in text and "a=b" not in text
    assert "body" in text


def test_log_format_is_json_unless_debug(tmp_path):
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.LOG_FORMAT)"
    env = {
        "DEBUG": "false",
        "SECRET_KEY": "k2!vQ9#rT7zL0pW4mX8nB3cF6hJ1sD5gY-aE_uI+oP2lK9jH7gF",
        "DJANGO_SETTINGS_MODULE": "sofp.settings",
    }
    env["PATH"] = "/usr/bin:/bin"
    env["SOFP_VAR_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=django_settings.BASE_DIR,
        check=True,
    )
    assert out.stdout.strip() == "json"
