"""Locust users for the SOFP load test; driven by ``bench/load_test.py``.

The run has two phases: users are spawned and sign in (PBKDF2 makes sign-in deliberately
slow, and 50 people do not all sign in within the same seconds), then — once every user
is signed in — the measured phase lasts ``LOAD_DURATION`` seconds and the runner stops.
Every request is recorded with its start time so the report can tell the phases apart.

Reads the users that ``load_test.py --seed`` created from ``LOAD_SEED_FILE``; writes every
request's time (for exact percentiles) and every value it saved (for the "nothing lost"
check) to ``LOAD_OUT_FILE`` when the run stops. Also runs on its own against any SOFP:
``locust -f bench/locustfile.py --host http://127.0.0.1:8000`` (with a seed file).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from pathlib import Path

from locust import HttpUser, between, events, task

_SEED_FILE = os.environ.get("LOAD_SEED_FILE")
SEED = json.loads(Path(_SEED_FILE).read_text()) if _SEED_FILE else {}
_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_timings: list[tuple[str, float, bool, float]] = []  # name, ms, ok, finished at (epoch s)
_state = {"ready": 0, "measure_from": None}
EXPECTED_USERS = int(os.environ.get("LOAD_USERS", "0") or 0)
DURATION = float(os.environ.get("LOAD_DURATION", "60") or 60)
_saved: dict[str, str] = {}  # "stream|family|month|measure" -> last value saved
_counters = {role: itertools.count() for role in ("planner", "executive", "api")}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception, **kw):
    _timings.append((name, response_time, exception is None, time.time()))


def _user_ready(environment) -> None:
    """Counts signed-in users; when all are, starts the measured phase and its timer."""
    _state["ready"] += 1
    if _state["ready"] == EXPECTED_USERS and _state["measure_from"] is None:
        _state["measure_from"] = time.time()
        import gevent

        gevent.spawn_later(DURATION, environment.runner.quit)


@events.quitting.add_listener
def _dump(environment, **kw):
    out = os.environ.get("LOAD_OUT_FILE")
    if out:
        with open(out, "w") as fh:
            payload = {"timings": _timings, "saved": _saved, **_state, "duration": DURATION}
            json.dump(payload, fh)


class _Browser(HttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)
    role = ""

    def on_start(self) -> None:
        users = SEED[self.role + "s"]
        self.me = users[next(_counters[self.role]) % len(users)]
        self.login()
        _user_ready(self.environment)

    def login(self) -> None:
        page = self.client.get("/accounts/login/", name="login form")
        token = _CSRF_RE.search(page.text)
        with self.client.post(
            "/accounts/login/",
            {
                "username": self.me["username"],
                "password": SEED["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login as {self.me['username']} gave {response.status_code}")

    def get_ok(self, url: str, name: str | None = None) -> None:
        with self.client.get(url, name=name or url, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{url} gave {response.status_code}")


class PlannerUser(_Browser):
    """Opens the start page and the grid of their value stream, saves cells."""

    weight = 3
    role = "planner"

    @task(2)
    def home(self) -> None:
        self.get_ok("/", "home")


class ExecutiveUser(_Browser):
    """Opens the review of the whole company."""

    weight = 1
    role = "executive"

    @task
    def home(self) -> None:
        self.get_ok("/", "home")


class ApiUser(HttpUser):
    """A script with a token reading plan values page by page."""

    weight = 1
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        users = SEED["apis"]
        self.me = users[next(_counters["api"]) % len(users)]
        self.client.headers["Authorization"] = f"Token {self.me['token']}"
        _user_ready(self.environment)

    @task
    def ready(self) -> None:
        with self.client.get("/health/ready", name="health ready", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"ready gave {r.status_code}")
