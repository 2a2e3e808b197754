"""Issue 20: an open cycle's board pack is printed once per state of what it shows; a
second click with nothing changed gets the same bytes without printing, any change
prints afresh; approved packs stay the archived, immutable ones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from planning.models import Actual, CycleFamily, ExceptionAcknowledgement, PlanValue
from planning.selectors.board_pack import board_pack_fingerprint
from planning.services import board_pack as service
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.factories import DecisionFactory

pytestmark = pytest.mark.django_db
M = dt.date(2027, 1, 1)


@pytest.fixture
def printer(settings, chromium_path):
    settings.SOFP_CHROMIUM_PATH = chromium_path
    return chromium_path


@pytest.fixture
def prints(monkeypatch):
    """Counts real prints (the printer itself runs)."""
    calls = []
    real = service.board_pack_render

    def counting(cycle):
        calls.append(cycle.pk)
        return real(cycle)

    monkeypatch.setattr(service, "board_pack_render", counting)
    return calls


def test_a_second_click_gets_the_same_bytes_without_printing_and_a_change_reprints(
    plan, executive, printer, prints
):
    first = service.board_pack_for_reader(cycle=plan, user=executive)
    second = service.board_pack_for_reader(cycle=plan, user=executive)
    assert len(prints) == 1
    assert second.data == first.data and second.sha256 == first.sha256
    assert second.pages == first.pages and second.filename == first.filename
    plan_values_upsert(
        cycle=plan, cells=[CellInput("A", "A-1", M, "demand", Decimal("555"))], user=None
    )
    third = service.board_pack_for_reader(cycle=plan, user=executive)
    assert len(prints) == 2 and third.data != first.data
    # The view answers from the same cache.
    assert service.board_pack_for_reader(cycle=plan, user=executive).data == third.data
    assert len(prints) == 2


def test_the_fingerprint_is_one_query_and_stable_while_nothing_changes(plan):
    board_pack_fingerprint(plan)  # the company's time zone is read once, then cached
    with CaptureQueriesContext(connection) as queries:
        one = board_pack_fingerprint(plan)
    assert len(queries) == 1
    assert board_pack_fingerprint(plan) == one


def test_every_input_of_the_pack_moves_the_fingerprint(plan, executive, family_a, finance_user):
    from planning.services.assumptions import assumption_create
    from planning.services.cycle_master import cycle_master_update
    from planning.services.scenarios import scenario_create

    seen = {board_pack_fingerprint(plan)}

    def moved(what: str) -> None:
        now = board_pack_fingerprint(plan)
        assert now not in seen, f"{what} did not change the fingerprint"
        seen.add(now)

    plan_values_upsert(
        cycle=plan, cells=[CellInput("A", "A-1", M, "production", Decimal("91"))], user=None
    )
    moved("a plan value")
    plan_values_upsert(cycle=plan, cells=[CellInput("A", "A-1", M, "production", None)], user=None)
    moved("a cleared plan value")
    scenario = scenario_create(cycle=plan, name="more", user=executive)
    moved("a new scenario")
    plan_values_upsert(
        cycle=plan.in_scenario(scenario),
        cells=[CellInput("A", "A-1", M, "demand", Decimal("7"))],
        user=None,
    )
    moved("a scenario cell")
    cycle_master_update(
        cycle=plan, user=finance_user, changes=[{"product_family": "A-1", "unit_price": "101"}]
    )
    moved("a price in the master copy")
    CycleFamily.objects.filter(cycle=plan, product_family=family_a).update(
        hours_per_unit=Decimal("9")
    )
    moved("hours in the master copy")
    DecisionFactory(cycle=plan, owner=executive)
    moved("a decision")
    assumption_create(
        cycle=plan,
        user=None,
        value_stream="A",
        measure="demand",
        first_month=M,
        last_month=M,
        text="A big order",
        owner=executive,
    )
    moved("an assumption")
    ExceptionAcknowledgement.objects.create(
        cycle=plan, key="x|y", acknowledged_by=executive, acknowledged_at=timezone.now()
    )
    moved("an acknowledged exception")
    Actual.objects.create(
        value_stream=family_a.value_stream,
        product_family=family_a,
        month=dt.date(2026, 12, 1),
        measure="actual_sales",
        value=Decimal("3"),
        updated_at=timezone.now(),
    )
    moved("an actual")
    step = plan.steps.get(number=5)
    step.agenda = "1. Box score"
    step.save()
    moved("the meeting's agenda")
    assert PlanValue.objects.filter(cycle=plan).exists()


def test_an_approved_cycle_still_gets_its_archived_pack(plan, executive, printer, prints):
    from planning.models import BoardPack
    from planning.services.approval import cycle_approve

    open_pack = service.board_pack_for_reader(cycle=plan, user=executive)
    cycle_approve(cycle=plan, user=executive, override_reason="test")
    plan.refresh_from_db()
    approved = service.board_pack_for_reader(cycle=plan, user=executive)
    stored = BoardPack.objects.get(cycle=plan, kind="approved")
    assert approved.archived is not None and approved.sha256 == stored.sha256
    assert approved.data != open_pack.data
    assert service.board_pack_for_reader(cycle=plan, user=executive).data == bytes(stored.pdf)


def _template_copy(tmp_path, settings):
    """The pack's template in a directory the loaders search first (what a deploy that
    changes the template puts on disk)."""
    from pathlib import Path

    from django.template.loader import get_template

    from planning.selectors.board_pack import BOARD_PACK_TEMPLATE

    source = Path(get_template(BOARD_PACK_TEMPLATE).origin.name)
    copy = tmp_path / BOARD_PACK_TEMPLATE
    copy.parent.mkdir(parents=True)
    copy.write_text(source.read_text())
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    return copy


def test_a_changed_template_changes_the_cache_key(plan, tmp_path, settings):
    from planning.selectors.board_pack import board_pack_renderer_digest

    board_pack_renderer_digest.cache_clear()
    before = service.board_pack_cache_key(plan)
    copy = _template_copy(tmp_path, settings)
    board_pack_renderer_digest.cache_clear()  # a new process: the digest is taken once
    same_text = service.board_pack_cache_key(plan)
    copy.write_text(copy.read_text().replace("</body>", "<p>deployed</p></body>"))
    assert service.board_pack_cache_key(plan) == same_text  # once per process
    board_pack_renderer_digest.cache_clear()
    after = service.board_pack_cache_key(plan)
    board_pack_renderer_digest.cache_clear()
    assert after != same_text and after != before
    # The data's part is untouched: only the renderer moved.
    assert after.rsplit(":", 1)[1] == before.rsplit(":", 1)[1] == board_pack_fingerprint(plan)


def test_the_renderer_digest_covers_the_template_static_files_and_the_code(tmp_path):
    from pathlib import Path

    from planning.selectors import board_pack as selector

    sources = {p.resolve() for p in selector.board_pack_renderer_sources()}
    root = Path(selector.__file__).resolve().parents[2]
    for must in (
        root / "templates" / "planning" / "board_pack.html",
        root / "static" / "css" / "board_pack.css",
        root / "planning" / "services" / "board_pack.py",
        root / "planning" / "selectors" / "dashboards.py",
        root / "planning" / "engine.py",
        root / "sofp" / "pdf.py",
    ):
        assert must in sources, must
    module = tmp_path / "module.py"
    module.write_text("A = 1\n")
    one = selector.files_digest([module])
    module.write_text("A = 2\n")
    assert selector.files_digest([module]) != one
    assert selector.files_digest([module], ["plotly==6.0"]) != selector.files_digest(
        [module], ["plotly==6.1"]
    )


def test_a_new_renderer_prints_afresh(plan, executive, printer, prints, monkeypatch):
    first = service.board_pack_for_reader(cycle=plan, user=executive)
    service.board_pack_for_reader(cycle=plan, user=executive)
    assert len(prints) == 1
    monkeypatch.setattr(service, "board_pack_renderer_digest", lambda: "after-a-deploy")
    again = service.board_pack_for_reader(cycle=plan, user=executive)
    assert len(prints) == 2 and again.pages == first.pages
