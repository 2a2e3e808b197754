"""/health/live and /health/ready: what orchestrators and load balancers rely on."""

from __future__ import annotations

import socket

import pytest
from django.db.migrations.recorder import MigrationRecorder

from sofp import health


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _recheck_migrations(monkeypatch):
    monkeypatch.setattr(health, "_migrations_done", False)


def test_live_answers_without_touching_the_database(client):
    # No django_db mark: any query here would raise instead of answering.
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_ready_is_ok_when_database_broker_and_migrations_are(client):
    response = client.get("/health/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {k: v["ok"] for k, v in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "broker": True,
    }


@pytest.mark.django_db
def test_ready_is_503_when_a_migration_is_not_applied(client):
    last = MigrationRecorder.Migration.objects.filter(app="planning").order_by("-id").first()
    last.delete()  # rolled back with the test transaction
    response = client.get("/health/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["migrations"]["ok"] is False
    assert f"planning.{last.name}" in checks["migrations"]["error"]


@pytest.mark.django_db
def test_ready_is_503_when_the_redis_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["ms"] < 5000
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_ready_can_be_told_not_to_require_the_broker(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.HEALTH_READY_REQUIRES_BROKER = False
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.django_db
@pytest.mark.redis
def test_ready_accepts_a_live_redis_broker(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    response = client.get("/health/ready")
    assert response.status_code == 200, response.json()


@pytest.mark.django_db
def test_ready_is_503_when_the_filesystem_broker_folder_is_missing(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "gone")}
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert "gone" in response.json()["checks"]["broker"]["error"]


@pytest.mark.django_db
def test_health_is_not_redirected_to_https_but_pages_are(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
    page = client.get("/accounts/login/")
    assert page.status_code == 301
    assert page["Location"].startswith("https://")


def test_health_refuses_writes(client):
    assert client.post("/health/live").status_code == 405


@pytest.mark.django_db
@pytest.mark.redis
def test_ready_reuses_one_broker_client_and_sees_an_outage_at_once(
    client, settings, redis_url, monkeypatch
):
    monkeypatch.setattr(health, "_redis_clients", {})
    settings.CELERY_BROKER_URL = redis_url
    for _ in range(3):
        assert client.get("/health/ready").status_code == 200
    assert list(health._redis_clients) == [redis_url]
    # The same URL with its server gone (a closed port): the next probe says so.
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
