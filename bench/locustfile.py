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
import random
import re
import time
import uuid
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.clients import HttpSession

_SEED_FILE = os.environ.get("LOAD_SEED_FILE")
SEED = json.loads(Path(_SEED_FILE).read_text()) if _SEED_FILE else {}
_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_timings: list[tuple[str, float, bool, float]] = []  # name, ms, ok, finished at (epoch s)
_errors: list[dict] = []  # every failed request, named: status, request, body excerpt
_state = {"ready": 0, "measure_from": None}
EXPECTED_USERS = int(os.environ.get("LOAD_USERS", "0") or 0)
DURATION = float(os.environ.get("LOAD_DURATION", "60") or 60)
THINK = tuple(float(x) for x in os.environ.get("LOAD_THINK_S", "2,8").split(","))
_saved: dict[str, str] = {}  # "stream|family|month|measure" -> last value saved
# Values sent whose answer never came (the run stopped, or the connection failed): the
# server may or may not have stored them, so the final check accepts either.
_unanswered: dict[str, list[str]] = {}
_counters = {role: itertools.count() for role in ("planner", "executive", "api")}


_session_request = HttpSession.request


def _request_with_id(self, method, url, *args, **kwargs):
    """Every request carries its own X-Request-ID, so an error names the server's log line."""
    rid = uuid.uuid4().hex
    kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-Request-ID": rid}
    kwargs["context"] = {**(kwargs.get("context") or {}), "request_id": rid}
    return _session_request(self, method, url, *args, **kwargs)


HttpSession.request = _request_with_id


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception, **kw):
    _timings.append((name, response_time, exception is None, time.time()))
    if exception is not None:
        _errors.append(_error(request_type, name, response_time, exception, kw))


def _error(method: str, name: str, ms: float, exception, kw: dict) -> dict:
    """What went wrong, in enough detail to find it in the server log."""
    response = kw.get("response")
    status = getattr(response, "status_code", None) or 0
    what = f"{type(exception).__name__}: {exception}"
    cause = getattr(response, "error", None)  # the connection error when nothing came back
    if cause is not None and cause is not exception:
        what += f" <- {type(cause).__name__}: {cause}"
    try:
        body = response.text if response is not None else ""
    except Exception:  # an unreadable body is still an error to name
        body = ""
    return {
        "name": name,
        "request": f"{method} {kw.get('url') or name}",
        "status": status,
        "ms": round(ms, 1),
        "at": time.time(),
        "request_id": (kw.get("context") or {}).get("request_id", ""),
        "exception": what[:400],
        "body": " ".join(body.split())[:300],
    }


def _user_ready(environment) -> None:
    """Counts signed-in users; when all are, starts the measured phase and its timer.

    Each user then waits for everyone, and starts after a first pause of its own (a
    think time): the measured phase is 200 signed-in people at work, not the queue the
    sign-ins (PBKDF2, about 0.25 s of CPU each) left behind them."""
    import gevent

    _state["ready"] += 1
    if _state["ready"] == EXPECTED_USERS and _state["measure_from"] is None:
        _state["measure_from"] = time.time()
        gevent.spawn_later(DURATION, environment.runner.quit)
    while _state["measure_from"] is None and EXPECTED_USERS:
        gevent.sleep(0.2)
    gevent.sleep(random.uniform(*THINK))


@events.quitting.add_listener
def _dump(environment, **kw):
    out = os.environ.get("LOAD_OUT_FILE")
    if out:
        with open(out, "w") as fh:
            payload = {
                "timings": _timings,
                "errors": _errors,
                "saved": _saved,
                "unanswered": _unanswered,
                **_state,
                "duration": DURATION,
            }
            json.dump(payload, fh)


class _Browser(HttpUser):
    """A person: reads, types, thinks — a few seconds between clicks (LOAD_THINK_S)."""

    abstract = True
    wait_time = between(THINK[0], THINK[1])
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
    """Opens the grid of their value stream and saves cells (only cells they own, so that
    the final check knows the value each cell must hold)."""

    weight = 3
    role = "planner"

    def on_start(self) -> None:
        super().on_start()
        self.cycle = SEED["cycle"]
        self.stream = self.me["stream"]
        self.grid = f"/cycles/{self.cycle}/grid/{self.stream}/"
        self.versions: dict[str, int] = {}
        self.rng = random.Random(self.me["username"])

    @task(1)
    def home(self) -> None:
        self.get_ok("/", "home")

    @task(2)
    def open_grid(self) -> None:
        self.get_ok(self.grid, "grid page")
        self.get_ok(self.grid + "data/", "grid data")

    @task(6)
    def save_cells(self) -> None:
        picked = self.rng.sample(self.me["cells"], k=min(3, len(self.me["cells"])))
        cells, keys = [], []
        for family, month, measure in picked:
            key = f"{self.stream}|{family}|{month}|{measure}"
            value = str(self.rng.randint(1, 5000))
            cell = {"family": family, "month": month, "measure": measure, "value": value}
            if key in self.versions:
                cell["version"] = self.versions[key]
            cells.append(cell)
            keys.append((key, value))
            _unanswered.setdefault(key, []).append(value)
        with self.client.post(
            self.grid + "save/",
            data=json.dumps({"cells": cells}),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-CSRFToken": self.client.cookies.get("csrftoken", ""),
                "Referer": self.host + self.grid,
            },
            name="grid save",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"save gave {response.status_code}: {response.text[:200]}")
                if response.status_code:  # an answer: nothing was stored
                    for key, value in keys:
                        _unanswered[key].remove(value)
                return
            for (key, value), version in zip(keys, response.json()["versions"], strict=True):
                self.versions[key] = version
                _saved[key] = value
                _unanswered[key].remove(value)


class ExecutiveUser(_Browser):
    """Opens the review of the whole company and a value stream dashboard."""

    weight = 1
    role = "executive"

    @task(3)
    def review(self) -> None:
        self.get_ok("/review/", "review")

    @task(1)
    def dashboard(self) -> None:
        stream = random.choice(SEED["streams"])
        self.get_ok(f"/value-streams/{stream}/", "stream dashboard")


class ApiUser(HttpUser):
    """A script with a token reading plan values page by page."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        users = SEED["apis"]
        self.me = users[next(_counters["api"]) % len(users)]
        self.client.headers["Authorization"] = f"Token {self.me['token']}"
        _user_ready(self.environment)

    @task(4)
    def page_plan_values(self) -> None:
        """Read the plan page by page, as an ERP extract would."""
        if not SEED.get("has_api"):
            return self.ready()
        page = random.randint(1, SEED["plan_value_pages"])
        url = f"/api/v1/cycles/{SEED['cycle']}/plan-values/?page={page}&page_size=100"
        with self.client.get(url, name="api plan values", catch_response=True) as r:
            if r.status_code != 200 or "results" not in r.text:
                r.failure(f"plan values gave {r.status_code}")

    @task(1)
    def ready(self) -> None:
        with self.client.get("/health/ready", name="health ready", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"ready gave {r.status_code}")
