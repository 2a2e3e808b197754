"""Shared fixtures: users by role, a small plan, and the real Chromium / Redis."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import (
    PASSWORD,
    CycleFactory,
    MembershipFactory,
    ProductFamilyFactory,
    UserFactory,
    ValueStreamFactory,
)

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by
# tests and the live server are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_configure(config):
    """xdist workers share one Redis database on CI-like runs: each gets its own key
    prefix, so one worker's cache never changes another's query counts or throttles."""
    config.addinivalue_line(
        "markers", "real_clock: actuals open up to this month by the real clock (not 2028)"
    )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from django.conf import settings

        settings.CACHES["default"]["KEY_PREFIX"] = f"test-{worker}"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.SECURE_SSL_REDIRECT = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Lockout tests switch django-axes on for themselves (tests/security/test_login_lockout).
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _no_board_pack_on_the_side(settings):
    """Approvals and step-5 reminders print a board pack in Chromium; only the board
    pack's own tests want that (tests/planning/test_board_pack.py switches it on)."""
    settings.SOFP_BOARD_PACK_AUTO = False


@pytest.fixture(autouse=True)
def _actuals_open_in_the_test_world(request, monkeypatch):
    """The tests' plans live in 2027: months up to 2028-12 count as started for actuals,
    whatever today is. Tests of the rule itself use ``@pytest.mark.real_clock``."""
    if request.node.get_closest_marker("real_clock") is None:
        monkeypatch.setattr(
            "planning.services.plan_values.current_month",
            lambda **_: dt.date(2028, 12, 1),
        )


@pytest.fixture(autouse=True)
def _fresh_company_cache():
    """The company's time zone and currency are cached; a test that saves others rolls
    the row back, but not the cache (on Redis the cache outlives the test)."""

    from planning.selectors.cycles import COMPANY_CURRENCY_KEY, COMPANY_TIME_ZONE_KEY

    keys = [COMPANY_TIME_ZONE_KEY, COMPANY_CURRENCY_KEY]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture(autouse=True)
def _fresh_board_packs():
    """Open cycles' packs are cached by what they show; no test gets an earlier one's."""
    from planning.services.board_pack import board_pack_cache_forget

    board_pack_cache_forget()


@pytest.fixture(autouse=True)
def _fresh_projections():
    """Projections are reused within a process while their inputs are unchanged; each
    test starts without any, so none depends on what an earlier test computed."""
    from planning.selectors.plans import projections_forget

    projections_forget()


@pytest.fixture
def company(db):
    """The company settings row (a data migration makes it; a flushed database may not
    have it any more)."""
    from planning.models import Company

    return Company.objects.order_by("pk").first() or Company.objects.create(
        reminder_hours_before=[24, 2]
    )


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def stream_a(db):
    return ValueStreamFactory(code="A", name="Stream A")


@pytest.fixture
def stream_b(db):
    return ValueStreamFactory(code="B", name="Stream B")


@pytest.fixture
def family_a(stream_a):
    return ProductFamilyFactory(code="A-1", value_stream=stream_a)


@pytest.fixture
def family_b(stream_b):
    return ProductFamilyFactory(code="B-1", value_stream=stream_b)


@pytest.fixture
def planner_a(stream_a):
    user = UserFactory(username="planner_a")
    MembershipFactory(user=user, value_stream=stream_a)
    return user


@pytest.fixture
def manager_a(stream_a):
    """Value stream manager of A (owns steps 2 and 3 there)."""
    user = UserFactory(username="manager_a")
    MembershipFactory(user=user, value_stream=stream_a, role="manager")
    return user


@pytest.fixture
def executive(db):
    return UserFactory(username="exec", roles=["executive"])


@pytest.fixture
def finance_user(db):
    return UserFactory(username="fin", roles=["finance"])


@pytest.fixture
def sales_user(db):
    return UserFactory(username="sal", roles=["sales"])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def cycle(db):
    return CycleFactory(month=dt.date(2027, 1, 1))


# --- The API: token clients and a small two-stream plan for cycle 2027-01 --------------

M = dt.date(2027, 1, 1)


@pytest.fixture
def client_for():
    """``client_for(user)`` → an APIClient sending the user's token (None = anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def month(i: int) -> dt.date:
    y, m = divmod(M.month - 1 + i, 12)
    return dt.date(M.year + y, m + 1, 1)


@pytest.fixture
def plan(cycle, family_a, family_b):
    """Demand, production and hours for streams A and B, plus a company sustaining cost."""
    cells = [CellInput("", "", M, "sustaining_cost", Decimal("1000"))]
    for fam in (family_a, family_b):
        vs = fam.value_stream.code
        cells.append(CellInput(vs, fam.code, M, "opening_inventory", Decimal("50")))
        for i in range(cycle.horizon):
            cells += [
                CellInput(vs, fam.code, month(i), "demand", Decimal("100") + i),
                CellInput(vs, fam.code, month(i), "production", Decimal("90")),
                CellInput(vs, "", month(i), "available_hours", Decimal("80")),
            ]
    plan_values_upsert(cycle=cycle, cells=cells, user=None)
    return cycle


@pytest.fixture
def frozen_cycle(db):
    return CycleFactory(month=dt.date(2026, 12, 1), status="approved")


# --- Real services ----------------------------------------------------------------------


def _reachable(url: str) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis (CI starts it); outside CI a missing server skips with the reason."""
    url = os.environ.get("SOFP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    if not _reachable(url):
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {url} (CI=true needs it)")
        pytest.skip(f"Redis is not reachable at {url}; start redis-server to run this test")
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        reason = f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium`"
        if IN_CI:
            pytest.fail(reason + " (CI=true needs the browser tests)")
        pytest.skip(reason)
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def login_page(browser, live_server):
    """Returns ``open(username) -> page`` logged in through the real login form."""
    contexts = []

    def open_as(username: str, password: str = PASSWORD):
        # Playwright's string predicates (wait_for_function) run through eval, which the
        # Content-Security-Policy forbids; the real pages are checked under the policy in
        # tests/security/test_csp_browser.py.
        context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def watched(login_page):
    """``watched(username)`` → a logged-in page whose console errors are collected; the
    test fails at the end if there were any."""
    errors: list[str] = []

    def open_as(username: str, password: str = PASSWORD, *, failing_network: bool = False):
        """``failing_network``: the test drops requests on purpose; the browser's own
        "Failed to load resource" lines are then expected, any other error is not."""
        page = login_page(username, password)

        def on_console(m) -> None:
            if m.type != "error":
                return
            if failing_network and m.text.startswith("Failed to load resource"):
                return
            errors.append(m.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_as
    assert errors == [], f"console errors: {errors}"
