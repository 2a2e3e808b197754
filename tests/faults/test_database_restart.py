"""The database restarts under load: in-flight requests fail cleanly, the app recovers.

A restart is simulated by terminating the backends of the app's database from a second
connection (``pg_terminate_backend``) — what clients see when PostgreSQL restarts —
rather than restarting the shared server. PostgreSQL only.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.db import connection

from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def _conninfo() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=s["NAME"],
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
    )


def _terminate_backends() -> int:
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        return conn.execute(TERMINATE).fetchone()[0]


def _terminate_when_busy(delay: float = 0.8) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), _terminate_backends()))
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.faults.urls_db")
def test_a_request_whose_connection_dies_gets_the_clean_500_page(postgres_only, live_server):
    killer = _terminate_when_busy()
    response = requests.get(f"{live_server.url}/test/slow-db/", timeout=30)
    killer.join()
    connection.close()  # the test's own connection was terminated too
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert response.headers["X-Request-ID"] in response.text
    assert "Traceback" not in response.text and "psycopg" not in response.text
    # The next request gets a new connection and works.
    assert requests.get(f"{live_server.url}/accounts/login/", timeout=30).status_code == 200


def _signed_in(url: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/accounts/login/", timeout=30)
    response = session.post(
        f"{url}/accounts/login/",
        {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
        },
        timeout=30,
    )
    assert "sessionid" in session.cookies, (response.status_code, response.text[:3000])
    return session


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.faults.urls_db")
def test_an_api_request_whose_connection_dies_gets_json(postgres_only, live_server):
    UserFactory(username="api_user")
    session = _signed_in(live_server.url, "api_user")
    killer = _terminate_when_busy()
    response = session.get(f"{live_server.url}/api/v1/test/slow-db/", timeout=30)
    killer.join()
    connection.close()
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "try again" in response.json()["detail"]
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_recovers_from_database_restarts_under_load_without_a_restart(
    postgres_only, load_test_module, tmp_path, monkeypatch, redis_url, settings
):
    # gunicorn runs the production settings: store a hash it can check.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    UserFactory(username="under_load")
    monkeypatch.setenv("LOAD_DB", connection.settings_dict["NAME"])
    monkeypatch.setenv("LOAD_WORKDIR", str(tmp_path))
    cfg = load_test_module.Config()
    extra = {"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4", "CONN_MAX_AGE": "60"}
    results: list[tuple[str, int, str]] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer(url: str, session: requests.Session) -> None:
        while not stop.is_set():
            for path in ("/", "/health/ready"):
                try:
                    r = session.get(url + path, timeout=30)
                    results.append((path, r.status_code, r.text[:2000]))
                except requests.RequestException as exc:  # a dropped connection is a bug
                    failures.append(f"{path}: {exc}")

    with load_test_module.gunicorn(cfg, extra_env=extra) as url:
        sessions = [_signed_in(url, "under_load") for _ in range(6)]
        with ThreadPoolExecutor(6) as pool:
            for session in sessions:
                pool.submit(hammer, url, session)
            terminated = []
            for _ in range(3):
                time.sleep(1.0)
                terminated.append(_terminate_backends())
            time.sleep(1.0)
            stop.set()
        connection.close()
        after = [requests.get(f"{url}/health/ready", timeout=30) for _ in range(5)]
    boots = (tmp_path / "gunicorn.log").read_text().count("Booting worker")

    assert not failures, failures[:5]
    assert all(n >= 1 for n in terminated), terminated  # gunicorn's connections were cut
    assert len(results) > 20
    for path, status, body in results:
        assert status in (200, 500, 503), (path, status)
        if status == 500:
            assert "Something went wrong on our side" in body
        if status == 503:
            assert path == "/health/ready" and '"database": {"ok": false' in body
    assert any(status == 200 for _, status, _ in results)
    assert [r.status_code for r in after] == [200] * 5
    assert boots == 1  # recovered in place: the worker was never restarted
