"""The review and the stream dashboard keep what reads none of the plan's values (the
family filter, steps, decisions, owners, acknowledgements, the projection's master copy,
streams and launches, the last approved cycle, the thresholds) under the review stamp
without its plan part (``stamps.rest_of``), and key the projection by the stamp itself.

Each page is compared, byte for byte, with the old path: ``_review_page`` and
``_stream_dashboard`` without a stamp (every read done afresh, keys read from the
database as before), computed from nothing — after a plan save and after each write the
kept parts read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from planning import engine
from planning.models import (
    Company,
    CycleFamily,
    CycleStep,
    CycleValueStream,
    Decision,
    ExceptionAcknowledgement,
)
from planning.selectors import dashboards
from planning.selectors.plans import projections_forget
from planning.selectors.stamps import plan_of, rest_of, review_stamp
from tests.clock import pin_day
from tests.planning.views.review_pages import (
    bump,
    company_readers,
    cycle,
    pages_html,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today_is_in_the_cycle(monkeypatch):
    pin_day(monkeypatch, dt.datetime(2027, 1, 15, 11, tzinfo=dt.UTC))


@pytest.fixture
def readers(db, executive):
    return company_readers(executive, manager=True)


KIND = engine.KINDS[0]
PAGES = (
    ("executive", "/review/"),
    ("executive", "/review/?month=2027-03"),
    ("executive", "/review/?family=S02-F002&month=2027-02"),
    ("executive", f"/review/?exception_kind={KIND}&exception_stream=S01&exceptions_page=2"),
    ("planner", "/review/?month=2027-02&family=S01-F000"),
    ("manager", f"/review/?exception_kind={KIND}"),
    ("executive", "/value-streams/S02/?month=2027-02&family=S02-F001"),
    ("planner", "/value-streams/S01/"),
    ("executive", "/cycles/2026-12/review/"),  # approved (frozen)
)


def _old_pages(readers, monkeypatch, pages=PAGES) -> dict[tuple[str, str], str]:
    """Every page by the old path: no stamp given to the page's computation (each
    read and each key as before), each page computed from nothing."""
    review, stream = dashboards._review_page, dashboards._stream_dashboard
    with monkeypatch.context() as patch:
        patch.setattr(dashboards, "_review_page", lambda **kw: review(**{**kw, "stamp": None}))
        patch.setattr(dashboards, "_stream_dashboard", lambda **kw: stream(**{**kw, "stamp": None}))
        out = pages_html(readers, pages, cold=True)
    projections_forget()
    return out


def _decision() -> None:
    from django.contrib.auth import get_user_model

    Decision.objects.create(
        cycle=cycle(),
        step=cycle().steps.get(number=5),
        text="Add a <second> shift",
        owner=get_user_model().objects.get(username="s01_planner"),
        due_date=dt.date(2027, 2, 1),
    )


def _acknowledge() -> None:
    from planning.dashboards import exception_rows
    from planning.selectors.plans import cycle_analysis

    exceptions = cycle_analysis(cycle=cycle()).exceptions
    key = exception_rows(exceptions.head(1), cycle().label)[0]["key"]
    ExceptionAcknowledgement.objects.create(
        cycle=cycle(), key=key, note="seen & agreed", acknowledged_at=timezone.now()
    )


WRITES = {
    "plan save": lambda: bump(product_family__code="S01-F001", measure="demand"),
    "stream cell": lambda: bump(
        value_stream__code="S02", product_family__isnull=True, measure="available_hours"
    ),
    "decision": _decision,
    "step done": lambda: CycleStep.objects.filter(cycle=cycle(), number=1).update(status="done"),
    "acknowledgement": _acknowledge,
    "owner renamed": lambda: (
        __import__("django.contrib.auth", fromlist=["get_user_model"])
        .get_user_model()
        .objects.filter(username="s01_planner")
        .update(first_name="Zoë")
    ),
    "headcount": lambda: CycleValueStream.objects.filter(
        cycle=cycle(), value_stream__code="S01"
    ).update(headcount=F("headcount") + 5),
    "price": lambda: CycleFamily.objects.filter(
        cycle=cycle(), product_family__code="S00-F002"
    ).update(unit_price=F("unit_price") + 3),
    "threshold": lambda: Company.objects.update(demand_change_threshold=Decimal("0.01")),
}


def test_pages_equal_the_old_path_with_every_part_kept(readers, monkeypatch):
    pages_html(readers, PAGES)  # every part kept
    assert pages_html(readers, PAGES) == _old_pages(readers, monkeypatch)


@pytest.mark.parametrize("write", list(WRITES))
def test_pages_equal_the_old_path_after_a_write(readers, monkeypatch, write):
    pages_html(readers, PAGES)  # every part kept, under the stamp of before the write
    before_stamp = review_stamp(cycle())
    WRITES[write]()
    after_stamp = review_stamp(cycle())
    assert after_stamp != before_stamp
    # Only a plan save leaves the stamp's rest as it was (and the parts kept under it).
    if write in ("plan save", "stream cell"):
        assert rest_of(after_stamp) == rest_of(before_stamp)
        assert plan_of(after_stamp) != plan_of(before_stamp)
    else:
        assert rest_of(after_stamp) != rest_of(before_stamp)
    reused = pages_html(readers, PAGES)
    assert reused == _old_pages(readers, monkeypatch)


def test_rest_of_is_the_stamp_without_the_plan_parts(readers):
    stamp = review_stamp(cycle())
    rest, plan = rest_of(stamp), plan_of(stamp)
    assert rest[:4] == ("review", *stamp[1:4]) and len(plan) == 2
    assert len(rest) + len(plan) == len(stamp)
    assert (*rest[:4], *plan, *rest[4:]) == stamp


def test_a_plan_save_reads_the_plan_again_and_nothing_else(readers, monkeypatch):
    """After a save the kept parts are used (not read again), the projection is run
    again (the page shows the saved number)."""
    from planning.selectors import plans

    calls = {"inputs": 0, "master": 0, "project": 0}
    inputs, master, project = (
        dashboards._review_inputs,
        plans.cycle_master_frame,
        plans._project,
    )

    def counted(name, func):
        def run(*args, **kwargs):
            calls[name] += 1
            return func(*args, **kwargs)

        return run

    monkeypatch.setattr(dashboards, "_review_inputs", counted("inputs", inputs))
    monkeypatch.setattr(plans, "cycle_master_frame", counted("master", master))
    monkeypatch.setattr(plans, "_project", counted("project", project))
    page = ("executive", "/review/")
    first = pages_html(readers, [page])
    assert calls["inputs"] == 1 and calls["master"] >= 1 and calls["project"] >= 1
    calls.update(inputs=0, master=0, project=0)
    WRITES["plan save"]()
    after = pages_html(readers, [page])
    assert after != first
    assert calls == {"inputs": 0, "master": 0, "project": 1}
    assert after == _old_pages(readers, monkeypatch, [page])
