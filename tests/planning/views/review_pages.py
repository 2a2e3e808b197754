"""What the review page-equality tests share: the company they read (three streams of
three families, built once per test), its readers' clients, the page normaliser, a grid
save, and ``each_from_here`` to run several writes from the same data in one test.

Building the company and rendering the pages before a write are the same for every
write; a test runs them once and then each write in a savepoint that is rolled back,
so every write starts from exactly the data (and the kept parts) it started from when
each write was a test of its own, and the failure names the write.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from planning.models import PlanningCycle, PlanValue
from planning.selectors.plans import projections_forget
from tests.dashboard_data import build_company
from tests.factories import MembershipFactory, UserFactory

MONTH = dt.date(2027, 1, 1)
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
_PRINTED = re.compile(r"printed [^(]+\(")


def company_readers(executive, *, manager: bool = False) -> dict[str, Client]:
    """The company (``build_company(streams=3, families=3)``) and logged-in clients of
    the executive, a planner of S01 and (``manager``) a manager of S02."""
    from valuestreams.models import ValueStream

    build_company(streams=3, families=3, month=MONTH)
    users = {"executive": executive}
    users["planner"] = UserFactory(username="s01_planner")
    MembershipFactory(user=users["planner"], value_stream=ValueStream.objects.get(code="S01"))
    if manager:
        users["manager"] = UserFactory(username="s02_manager")
        MembershipFactory(
            user=users["manager"], value_stream=ValueStream.objects.get(code="S02"), role="manager"
        )
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)
    return clients


def page_html(response) -> str:
    """The page as compared: the CSRF token (masked afresh per render) and the board
    pack's "printed" minute set aside."""
    return _PRINTED.sub("printed (", _CSRF.sub("CSRF", response.content.decode()))


def pages_html(
    readers: dict[str, Client], pages, *, cold: bool = False
) -> dict[tuple[str, str], str]:
    """Each ``(reader, url)`` page's HTML as compared (:func:`page_html`); ``cold``: each
    computed from nothing (no part kept from another page or an earlier render)."""
    out = {}
    for who, url in pages:
        if cold:
            projections_forget()
        response = readers[who].get(url)
        assert response.status_code == 200, (who, url)
        out[(who, url)] = page_html(response)
    return out


def cycle() -> PlanningCycle:
    return PlanningCycle.objects.get(month=MONTH)


def bump(**where) -> None:
    """A save as the grid makes it: the value moves, the version grows."""
    rows = PlanValue.objects.filter(cycle=cycle(), **where)
    assert rows.exists(), where
    pk = rows.order_by("pk").values_list("pk", flat=True).first()
    PlanValue.objects.filter(pk=pk).update(
        value=F("value") + Decimal("37"), version=F("version") + 1, updated_at=timezone.now()
    )


def _fresh_settings() -> None:
    """What tests/conftest.py's autouse fixtures drop for each test and a rolled-back
    write could leave behind: the company's cached settings and board packs. (Kept
    projections and page parts are keyed by their inputs' stamps, as between requests.)"""
    from planning.selectors.cycles import COMPANY_CURRENCY_KEY, COMPANY_TIME_ZONE_KEY
    from planning.services.board_pack import board_pack_cache_forget

    cache.delete_many([COMPANY_TIME_ZONE_KEY, COMPANY_CURRENCY_KEY])
    board_pack_cache_forget()


@contextmanager
def each_from_here() -> Iterator[None]:
    """Runs the block in a savepoint and undoes its writes afterwards (passed or not),
    so the next block starts from the same data."""
    try:
        with transaction.atomic():
            try:
                yield
            finally:
                transaction.set_rollback(True)
    finally:
        _fresh_settings()
