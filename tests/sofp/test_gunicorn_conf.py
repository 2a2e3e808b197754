"""gunicorn.conf.py: worker count from the CPUs, capped by WEB_CONCURRENCY."""

from __future__ import annotations

import multiprocessing
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def _load(monkeypatch, **env: str) -> dict:
    for key in ("WEB_CONCURRENCY", "PORT", "GUNICORN_BIND", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONF))


def test_workers_default_to_one_per_core_plus_one_with_four_threads(monkeypatch):
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    conf = _load(monkeypatch)
    assert conf["workers"] == multiprocessing.cpu_count() + 1
    assert conf["threads"] == 4
    assert conf["accesslog"] == "-"
    assert conf["wsgi_app"] == "sofp.wsgi:application"


def test_web_concurrency_caps_the_workers(monkeypatch):
    assert _load(monkeypatch, WEB_CONCURRENCY="1")["workers"] == 1


def test_web_concurrency_never_raises_above_the_cpu_rule(monkeypatch):
    conf = _load(monkeypatch, WEB_CONCURRENCY="999")
    assert conf["workers"] == multiprocessing.cpu_count() + 1


def test_bind_and_trusted_proxies_come_from_the_environment(monkeypatch):
    conf = _load(monkeypatch, PORT="9123", FORWARDED_ALLOW_IPS="10.0.0.2")
    assert conf["bind"] == "0.0.0.0:9123"
    assert conf["forwarded_allow_ips"] == "10.0.0.2"


def test_gunicorns_own_logs_are_json_in_production(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    conf = _load(monkeypatch, DEBUG="false")
    assert conf["logconfig_dict"]["formatters"]["json"]["()"].endswith("JsonFormatter")
    assert "logconfig_dict" not in _load(monkeypatch, DEBUG="true")


def test_idle_connections_outlive_the_clients_and_proxies_idle_time(monkeypatch):
    # The client (or the proxy, 60 s) must be the side that closes an idle connection:
    # a server closing first drops a request sent at that moment ("connection reset").
    monkeypatch.delenv("GUNICORN_KEEPALIVE", raising=False)
    assert _load(monkeypatch)["keepalive"] > 60
    assert _load(monkeypatch, GUNICORN_KEEPALIVE="5")["keepalive"] == 5
