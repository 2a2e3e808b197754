"""Security headers on every response, and hardened cookies."""

from __future__ import annotations

import re

import pytest
from django.test import Client


def _csp(response) -> dict[str, list[str]]:
    policy = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    policy = _csp(client.get("/accounts/login/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert re.fullmatch(r"'nonce-[A-Za-z0-9_-]{20,}'", policy["script-src"][1])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "unsafe-eval" not in client.get("/accounts/login/")["Content-Security-Policy"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]


@pytest.mark.django_db
def test_the_nonce_changes_with_every_response(client):
    first = _csp(client.get("/accounts/login/"))["script-src"][1]
    second = _csp(client.get("/accounts/login/"))["script-src"][1]
    assert first != second


@pytest.mark.django_db
def test_the_nonce_is_available_to_templates(rf):
    from sofp.middleware import SecurityHeadersMiddleware

    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen["nonce"] = request.csp_nonce
        return HttpResponse("x")

    response = SecurityHeadersMiddleware(view)(rf.get("/"))
    assert f"'nonce-{seen['nonce']}'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_relaxed_paths_get_inline_scripts_instead_of_a_nonce(client, settings):
    settings.SOFP_CSP_RELAXED_PATHS = [r"^accounts/login/$"]
    from django.test import Client as FreshClient  # the middleware reads the setting at start

    policy = _csp(FreshClient().get("/accounts/login/"))
    assert policy["script-src"] == ["'self'", "'unsafe-inline'"]
    assert _csp(FreshClient().get("/health/live"))["script-src"][1].startswith("'nonce-")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/health/live", "/"])
def test_every_response_has_the_other_security_headers(client, path):
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_session_cookie_is_httponly_samesite_and_short_lived(executive, password):
    client = Client()
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "exec", "password": password})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert 0 < int(cookie["max-age"]) <= 12 * 3600


def test_production_settings_mark_cookies_secure_and_pass_the_deploy_check(tmp_path):
    import subprocess
    import sys

    from django.conf import settings

    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": "k2!vQ9#rT7zL0pW4mX8nB3cF6hJ1sD5gY-aE_uI+oP2lK9jH7gF",
        "ALLOWED_HOSTS": "sofp.example.com",
        "SOFP_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "sofp.settings",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0, s.LOG_FORMAT)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["True", "True", "True", "True", "json"]
