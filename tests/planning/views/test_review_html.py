"""The executive review's loops and a stream dashboard's written in Python
(``planning/templatetags/review_blocks``) write the pages the old templates wrote, byte
for byte; so do the views that read the current cycle and the streams once for the page
and its menu.

The references are ``review.html``, ``includes/review_assumptions.html``,
``includes/scenario_compare.html`` and ``value_stream_dashboard.html`` as they were
(``reference/*_before_revhtml.html``),
put in front of the project's templates by a locmem loader: each page is rendered with
the old templates and the new ones and the two compared whole (only the CSRF token,
masked afresh on every render, is set aside; the board pack's "printed" minute is held
still so that a minute turning between the two renders cannot tell them apart).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import defaulttags
from django.test import override_settings

from planning.models import CycleStep, DecisionStatus, PlanningCycle, StepStatus
from planning.services.assumptions import assumption_create
from planning.services.exceptions import exception_acknowledge
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.scenarios import scenario_create
from tests.clock import pin_day
from tests.dashboard_data import build_company
from tests.factories import DecisionFactory, MembershipFactory, UserFactory
from valuestreams.models import ValueStream

pytestmark = pytest.mark.django_db

MONTH = dt.date(2027, 1, 1)
_REFERENCE = Path(__file__).parent / "reference"
_OLD = {
    "planning/review.html": "review_before_revhtml.html",
    "planning/includes/review_assumptions.html": "review_assumptions_before_revhtml.html",
    "planning/includes/scenario_compare.html": "scenario_compare_before_revhtml.html",
    "planning/value_stream_dashboard.html": "value_stream_dashboard_before_revhtml.html",
}
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _old_templates() -> list[dict]:
    engine = dict(settings.TEMPLATES[0])
    options = dict(engine["OPTIONS"])
    old = {name: (_REFERENCE / file).read_text() for name, file in _OLD.items()}
    options["loaders"] = [
        ("django.template.loaders.locmem.Loader", old),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    engine["OPTIONS"] = options
    engine["APP_DIRS"] = False
    return [engine]


class _StillClock(dt.datetime):
    """``{% now %}`` at one instant for both renders."""

    @classmethod
    def now(cls, tz=None):
        return dt.datetime(2027, 1, 15, 9, 30, tzinfo=dt.UTC).astimezone(tz)


@pytest.fixture(autouse=True)
def _still(monkeypatch):
    pin_day(monkeypatch, dt.datetime(2027, 1, 15, 11, tzinfo=dt.UTC))
    monkeypatch.setattr(defaulttags, "datetime", _StillClock)


def _page(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return _CSRF.sub(b"csrf", response.content)


def _same(client, url: str) -> bytes:
    new = _page(client, url)
    with override_settings(TEMPLATES=_old_templates()):
        old = _page(client, url)
    if new != old:  # pragma: no cover - a failure's diff
        import difflib

        print(
            "".join(
                difflib.unified_diff(
                    old.decode().splitlines(True), new.decode().splitlines(True), "old", "new", n=1
                )
            )[:4000]
        )
    assert new == old, url
    return new


@pytest.fixture
def company(db):
    return build_company(streams=3, families=12, month=MONTH)


@pytest.fixture
def people(company):
    streams = list(ValueStream.objects.order_by("code"))
    executive = UserFactory(
        username="rv_exec", first_name="Eve <i>", last_name="& Co", roles=["executive"]
    )
    manager = UserFactory(username="rv_manager", first_name="", last_name="")
    MembershipFactory(user=manager, value_stream=streams[0], role="manager")
    planner = UserFactory(username="rv_planner", first_name='Pat "P"', last_name="O'Hara")
    MembershipFactory(user=planner, value_stream=streams[1])
    return {"executive": executive, "manager": manager, "planner": planner}


@pytest.fixture
def meeting(company, people):
    """Decisions (with and without owner, due date, step), assumptions behind the
    biggest changes and acknowledged exceptions, with text that needs escaping."""
    executive = people["executive"]
    step2 = CycleStep.objects.get(cycle=company, number=2)
    CycleStep.objects.filter(cycle=company, number=1).update(status=StepStatus.DONE)
    DecisionFactory(
        cycle=company, text='Add a <b>second</b> shift & "overtime"', owner=executive, step=step2
    )
    DecisionFactory(
        cycle=company, text="Done one", owner=people["manager"], status=DecisionStatus.DONE
    )
    DecisionFactory(cycle=company, text="Nobody's", owner=None, due_date=None)
    for i, (vs, fam) in enumerate([("S00", "S00-F000"), ("S01", ""), ("S02", "S02-F003")]):
        assumption_create(
            cycle=company,
            user=executive,
            value_stream=vs,
            measure="demand",
            first_month=MONTH,
            last_month=dt.date(2027, 6, 1),
            text=f'Assumption <{i}> & "quoted"',
            product_family=fam,
            owner=people["manager"] if i != 1 else None,
            impact="+5% <demand>" if i != 2 else "",
        )
    exception_acknowledge(
        cycle=company, user=executive, key="shortage:S00:S00-F000:2027-02", note="Known <ok> & fine"
    )
    return company


@pytest.mark.parametrize("role", ["executive", "manager", "planner"])
def test_the_review_equals_the_old_template_for_each_role(client, meeting, people, role):
    client.force_login(people[role])
    html = _same(client, "/review/")
    assert b'data-testid="fva"' in html and b"decision-text" in html
    if role == "executive":  # the assumptions behind S00's changes, escaped
        assert b"Assumption &lt;0&gt; &amp; &quot;quoted&quot;" in html


def test_the_review_equals_the_old_template_with_filters(client, meeting, people):
    client.force_login(people["executive"])
    first = _same(client, "/review/")
    kinds = re.findall(rb"exception_kind=([a-z_]+)#exceptions", first)
    streams = re.findall(rb"exception_stream=([^#&\"]+)#exceptions", first)
    assert kinds and streams
    urls = [
        "/review/?month=2027-03",
        "/review/?month=nope",
        "/review/?family=S01-F002",
        "/review/?family=S01-F002&month=2027-02",
        f"/review/?exception_kind={kinds[0].decode()}",
        f"/review/?exception_kind={kinds[-1].decode()}&exception_stream={streams[-1].decode()}",
        "/review/?exceptions_page=2",
        "/review/?exceptions_page=99",
        "/cycles/2026-12/review/",  # an approved (frozen) earlier cycle
    ]
    for url in urls:
        _same(client, url)


def test_the_review_equals_the_old_template_when_frozen(client, meeting, people):
    client.force_login(people["executive"])
    response = client.post(
        f"/cycles/{meeting.label}/approve/",
        {"confirm": "yes", "override_reason": "steps <ran> late", "note": 'Overload "ok" & on'},
    )
    assert response.status_code == 302
    assert PlanningCycle.objects.get(pk=meeting.pk).is_frozen
    client.get("/")  # the "approved" message is shown once, before the two renders
    for role in ("executive", "planner"):
        client.force_login(people[role])
        html = _same(client, "/review/")
        assert b"The plan is frozen" in html


def test_the_review_equals_the_old_template_comparing_scenarios(client, meeting, people):
    executive = people["executive"]
    scenario = scenario_create(cycle=meeting, name="second-shift", user=executive)
    scenario_create(cycle=meeting, name="build-ahead", user=executive)
    plan_values_upsert(
        cycle=meeting.in_scenario(scenario),
        cells=[
            CellInput("S00", "S00-F000", month, "demand", Decimal("50000"))
            for month in (dt.date(2027, m, 1) for m in range(1, 7))
        ]
        + [
            CellInput("S02", f"S02-F{f:03d}", dt.date(2027, m, 1), "production", Decimal("900"))
            for f in range(12)
            for m in (1, 2, 3)
        ],
        user=None,
    )
    for role in ("executive", "manager"):
        client.force_login(people[role])
        _same(client, "/review/")  # the scenario picker, nothing chosen
        html = _same(client, "/review/?compare=second-shift&compare=build-ahead&month=2027-02")
        assert b'data-testid="scenario-table"' in html
        # more than the twelve listed, removed and added; none for the plain copy
        assert html.count(b'badge ok">gone') == html.count(b'badge bad">new') == 12
        assert b"more</li>" in html and b"Removes 0</strong> exceptions." in html
        # The same block on step 3 and on the scenarios page.
        for url in ("/cycles/2027-01/reconcile/", "/cycles/2027-01/scenarios/"):
            _same(client, url)
            _same(client, f"{url}?compare=second-shift&compare=build-ahead")


def test_the_review_equals_the_old_template_without_anything(client, db):
    """No cycle; then a cycle but a reader of no value stream."""
    nobody = UserFactory(username="rv_nobody", roles=["executive"])
    client.force_login(nobody)
    assert b"No planning cycle has been started yet" in _same(client, "/review/")
    build_company(streams=1, families=1, month=MONTH, previous=0)
    reader = UserFactory(username="rv_reader")
    client.force_login(reader)
    _same(client, "/review/")
    client.force_login(nobody)
    _same(client, "/review/")  # one stream, no approved plan, no actuals


def test_the_stream_dashboard_equals_the_old_template(client, meeting, people):
    """Every role that sees S00, with the family, month and cycle filters."""
    urls = [
        "/value-streams/S00/",
        "/value-streams/S00/?family=S00-F003",
        "/value-streams/S00/?month=2027-04",
        "/value-streams/S00/?month=nope&family=S00-F001",
        "/value-streams/S00/?cycle=2026-12",
        "/value-streams/S00/?cycle=1999-01",
    ]
    for role in ("executive", "manager"):
        client.force_login(people[role])
        for url in urls:
            html = _same(client, url)
            assert b'class="kpi' in html
    client.force_login(people["planner"])
    _same(client, "/value-streams/S01/")


def test_the_stream_dashboard_equals_the_old_template_without_a_cycle(client, db):
    ValueStream.objects.create(code="Z&1", name="<Zed> & co")
    client.force_login(UserFactory(username="rv_exec2", roles=["executive"]))
    assert b"No planning cycle has been started yet" in _same(client, "/value-streams/Z&1/")


@pytest.mark.parametrize("url", ["/review/", "/value-streams/S00/"])
def test_reading_once_for_page_and_menu_changes_nothing(client, meeting, people, url, monkeypatch):
    """The views hand their current cycle and streams to the menu: the page is the one
    the menu's own reads write."""
    from planning.selectors.plans import cycle_current
    from planning.views import dashboards as views

    client.force_login(people["executive"])
    shared = _page(client, url)
    monkeypatch.setattr(views, "request_cycle_current", lambda request: cycle_current())
    monkeypatch.setattr(views, "remember_streams_visible", lambda request, streams: None)
    assert _page(client, url) == shared
