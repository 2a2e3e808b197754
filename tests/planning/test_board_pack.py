"""The step-5 board pack: content of the PDF, archive, rights, the missing renderer,
the reminder that carries it, the approval that archives it, the command and the API.

Tests that print need Chromium (``chromium_path`` skips with the reason, fails on CI);
those about a missing renderer point ``SOFP_CHROMIUM_PATH`` somewhere empty.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import unicodedata
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from pypdf import PdfReader

from planning.models import BoardPack, PlanningCycle
from planning.selectors.board_pack import (
    BOX_COLUMNS_PER_TABLE,
    board_pack_context,
)
from planning.services.approval import cycle_approve
from planning.services.board_pack import (
    board_pack_archive,
    board_pack_html,
    board_pack_render,
)
from planning.services.cycles import cycle_start
from planning.services.reminders import reminders_send
from planning.tasks import board_pack_build
from planning.templatetags.dashboards import fmt
from sofp.pdf import RenderFailed
from tests.factories import UserFactory, ValueStreamFactory

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


@pytest.fixture
def printer(settings, chromium_path):
    settings.SOFP_CHROMIUM_PATH = chromium_path
    return chromium_path


@pytest.fixture
def no_printer(settings, tmp_path):
    settings.SOFP_CHROMIUM_PATH = str(tmp_path / "no-chromium-here")


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text; NFKC undoes the font's ligatures ("ﬁ" → "fi")."""
    return [
        unicodedata.normalize("NFKC", page.extract_text())
        for page in PdfReader(io.BytesIO(data)).pages
    ]


def company_revenue(cycle: PlanningCycle) -> str:
    context = board_pack_context(cycle, built_at=dt.datetime.now(dt.UTC))
    row = next(r for r in context["page"].box_rows if r["metric"].column == "revenue")
    return fmt(row["cells"][0]["value"], row["metric"].kind)


# --- the PDF itself -------------------------------------------------------------------


def test_the_pack_numbers_every_page_and_shows_the_numbers_as_on_screen(plan, printer):
    pack = board_pack_render(plan)
    assert pack.data.startswith(b"%PDF-") and pack.sha256 == hashlib.sha256(pack.data).hexdigest()
    pages = pdf_pages(pack.data)
    assert len(pages) == pack.pages >= 8
    for n, text in enumerate(pages, start=1):
        assert f"page {n} of {len(pages)}" in text, f"page {n} has no footer"
    cover = pages[0]
    assert "Board pack" in cover and "2027-01" in cover and "Draft" in cover
    assert f"Pages {len(pages)}" in cover.replace("\n", " ")
    everything = " ".join("\n".join(pages).split())
    revenue = company_revenue(plan)
    assert revenue != "—" and revenue in everything  # the company's revenue, as on screen
    for heading in (
        "Agenda",
        "Box score",
        "Exceptions, farthest outside their band first",
        "What changed since the last approved plan",
        "Charts of the review",
        "Decisions",
        "Assumptions behind the biggest changes",
        "Scenarios compared",
        "Approval",
    ):
        assert heading in everything, heading
    assert "No assumptions recorded." in everything and "No scenarios." in everything


def test_the_print_view_has_the_charts_as_plotly_figures_and_every_section(plan, printer):
    page = board_pack_html(plan)
    assert page.count('data-figure="chart-') >= 5  # changes, streams, capacity, profit, fva
    assert "vendor/plotly/plotly.min.js" in page and "js/board_pack.js" in page
    assert 'data-testid="pack-no-assumptions"' in page
    assert 'data-testid="pack-no-scenarios"' in page


def test_many_streams_split_the_box_score_into_tables_that_fit_the_page(cycle):
    for i in range(2 * BOX_COLUMNS_PER_TABLE + 1):
        ValueStreamFactory(code=f"S{i:02d}")
    context = board_pack_context(cycle, built_at=dt.datetime.now(dt.UTC))
    tables = context["box_tables"]
    assert [len(t.columns) for t in tables] == [7, 7, 2]  # the company and 15 streams
    assert tables[0].columns[0] == ("", "Company")
    assert all(len(r["cells"]) == len(t.columns) for t in tables for r in t.rows)


def test_a_pack_of_a_company_without_streams_says_so(cycle, printer):
    pack = board_pack_render(cycle)
    text = "\n".join(pdf_pages(pack.data))
    assert "There is no value stream yet" in text and "page 1 of" in text


# --- archive: immutable, idempotent, SHA-256 --------------------------------------------


def test_approval_archives_the_pack_once_and_for_good(plan, executive, printer):
    cycle_approve(cycle=plan, user=executive, override_reason="test")
    # On commit the approval queues the archive task (the test's transaction never
    # commits, so run it as the worker would).
    plan.refresh_from_db()
    result = board_pack_build.apply(args=[plan.pk, "approved"]).get()
    pack = BoardPack.objects.get(cycle=plan, kind="approved")
    assert result == pack.sha256 == hashlib.sha256(bytes(pack.pdf)).hexdigest()
    assert pack.size == len(bytes(pack.pdf)) and pack.cycle_status == "approved"
    assert "Approved" in pdf_pages(bytes(pack.pdf))[0]
    # Idempotent: the task again, or the service, returns the same row without printing.
    assert board_pack_build.apply(args=[plan.pk, "approved"]).get() == pack.sha256
    assert board_pack_archive(cycle=plan, kind="approved").pk == pack.pk
    assert BoardPack.objects.filter(cycle=plan).count() == 1
    # Immutable.
    pack.size = 1
    with pytest.raises(ValidationError):
        pack.save()
    with pytest.raises(ValidationError):
        pack.delete()


def test_approval_queues_the_archive_after_commit(
    plan, executive, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.SOFP_BOARD_PACK_AUTO = True
    queued = []
    monkeypatch.setattr(
        "sofp.queueing.enqueue", lambda task, *args, **kw: queued.append((task.name, args))
    )
    with django_capture_on_commit_callbacks(execute=True):
        cycle_approve(cycle=plan, user=executive, override_reason="test")
    assert ("planning.board_pack_build", (plan.pk, "approved")) in queued


def test_the_task_retries_a_failed_print_with_backoff(plan, executive, monkeypatch):
    calls = []

    def fail(**kw):
        calls.append(kw)
        raise RenderFailed("Chromium could not print the page: crashed")

    monkeypatch.setattr("planning.services.board_pack.board_pack_archive", fail)
    result = board_pack_build.apply(args=[plan.pk, "approved"])
    assert isinstance(result.result, RenderFailed)
    assert len(calls) == board_pack_build.max_retries + 1  # eager: every retry ran
    assert not BoardPack.objects.exists()


def test_the_task_does_not_archive_an_open_cycle(plan):
    assert board_pack_build.apply(args=[plan.pk, "approved"]).get() == "not_approved"
    assert board_pack_build.apply(args=[999_999, "approved"]).get() == "gone"
    assert not BoardPack.objects.exists()


def test_the_admin_only_looks_at_archived_packs(admin_user):
    admin = site._registry[BoardPack]
    request = RequestFactory().get("/")
    request.user = admin_user
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)
    assert admin.actions is None and "pdf" in admin.exclude


# --- the missing renderer: a clear answer everywhere, never a 500 ------------------------


def test_without_chromium_the_page_says_so(client, plan, executive, no_printer):
    client.force_login(executive)
    response = client.get("/cycles/2027-01/board-pack/")
    assert response.status_code == 503
    body = response.content.decode()
    assert "Chromium was not found" in body and "SOFP_CHROMIUM_PATH" in body


def test_without_chromium_the_api_answers_problem_json(client_for, plan, executive, no_printer):
    response = client_for(executive).get(
        "/api/v1/cycles/2027-01/board-pack/", HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:sofp:problem:pdf_renderer_missing"
    assert body["errors"][0]["field"] == "SOFP_CHROMIUM_PATH"


def test_without_chromium_the_command_fails_with_the_reason(plan, no_printer, tmp_path):
    with pytest.raises(CommandError, match="Chromium was not found"):
        call_command("board_pack", cycle="2027-01", output=str(tmp_path / "p.pdf"))
    assert not (tmp_path / "p.pdf").exists()


def test_without_chromium_the_reminder_still_goes_with_the_link(
    executive, company, no_printer, settings
):
    settings.SOFP_BOARD_PACK_AUTO = True
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=executive)
    step5 = cycle.steps.get(number=5)
    reminders_send(now=step5.meeting_start - 24 * H)
    message = next(m for m in mail.outbox if "Meeting for step 5" in m.subject)
    assert "http://127.0.0.1:8000/cycles/2027-01/board-pack/" in message.body
    assert message.attachments == []
    assert not BoardPack.objects.exists()


# --- delivery: reminder, rights, command, API --------------------------------------------


def test_the_step5_reminder_24h_before_attaches_the_pre_read(
    executive, company, printer, settings, stream_a
):
    settings.SOFP_BOARD_PACK_AUTO = True
    UserFactory(username="exec2", roles=["executive"])
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=executive)
    step5 = cycle.steps.get(number=5)
    reminders_send(now=step5.meeting_start - 24 * H)
    sent = [m for m in mail.outbox if "Meeting for step 5" in m.subject]
    assert len(sent) == 2
    pack = BoardPack.objects.get(cycle=cycle)  # one pre-read for every recipient
    assert pack.kind == "pre_read" and pack.cycle_status != "approved"
    for message in sent:
        (name, content, mimetype), *_ = message.attachments
        assert name == "sofp-board-pack-2027-01-pre-read.pdf" and mimetype == "application/pdf"
        assert hashlib.sha256(content).hexdigest() == pack.sha256
        assert "/cycles/2027-01/board-pack/" in message.body
    # The 2 h reminder carries no pack.
    mail.outbox.clear()
    reminders_send(now=step5.meeting_start - 2 * H)
    later = [m for m in mail.outbox if "Meeting for step 5" in m.subject]
    assert later and all(m.attachments == [] for m in later)


def test_a_pack_over_the_size_limit_is_linked_not_attached(executive, company, printer, settings):
    settings.SOFP_BOARD_PACK_AUTO = True
    settings.SOFP_BOARD_PACK_ATTACH_MAX_BYTES = 1000
    cycle, _ = cycle_start(month=dt.date(2027, 1, 1), user=executive)
    reminders_send(now=cycle.steps.get(number=5).meeting_start - 24 * H)
    message = next(m for m in mail.outbox if "Meeting for step 5" in m.subject)
    assert message.attachments == [] and "/cycles/2027-01/board-pack/" in message.body
    assert BoardPack.objects.filter(cycle=cycle, kind="pre_read").exists()


@pytest.mark.parametrize(
    "url", ["/cycles/2027-01/board-pack/", "/cycles/2027-01/board-pack/preview/"]
)
def test_a_reader_of_one_stream_may_not_have_the_pack(client, plan, planner_a, url):
    client.force_login(planner_a)
    response = client.get(url)
    assert response.status_code == 403


def test_the_api_refuses_a_reader_of_one_stream(client_for, plan, planner_a):
    client = client_for(planner_a)
    assert client.get("/api/v1/cycles/2027-01/board-pack/").status_code == 403
    assert client.get("/api/v1/cycles/2027-01/board-packs/").status_code == 403
    assert client_for(None).get("/api/v1/cycles/2027-01/board-pack/").status_code == 401
    assert client_for(planner_a).get("/api/v1/cycles/2099-01/board-pack/").status_code == 404


def test_the_api_gives_the_archived_pack_of_an_approved_cycle(
    client_for, client, plan, executive, printer
):
    cycle_approve(cycle=plan, user=executive, override_reason="test")
    api = client_for(executive)
    response = api.get("/api/v1/cycles/2027-01/board-pack/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pack = BoardPack.objects.get(cycle=plan, kind="approved")
    assert response["X-Content-SHA256"] == pack.sha256
    assert hashlib.sha256(response.content).hexdigest() == pack.sha256
    listed = api.get("/api/v1/cycles/2027-01/board-packs/").json()
    assert [(p["kind"], p["sha256"]) for p in listed] == [("approved", pack.sha256)]
    # The same bytes on the cycle page's link and the button, and listed on the page.
    client.force_login(executive)
    again = client.get(listed[0]["url"])
    assert again.status_code == 200 and again.content == response.content
    assert client.get("/cycles/2027-01/board-pack/").content == response.content
    page = client.get("/cycles/2027-01/").content.decode()
    assert pack.sha256 in page and 'data-testid="board-pack-approved"' in page


def test_the_command_writes_the_pdf(plan, printer, tmp_path):
    out = io.StringIO()
    target = tmp_path / "pack.pdf"
    call_command("board_pack", cycle="2027-01", output=str(target), stdout=out)
    data = target.read_bytes()
    assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() in out.getvalue()
    assert not BoardPack.objects.exists()  # an open cycle's print is not archived


def test_the_command_refuses_an_unknown_cycle_and_a_missing_folder(plan, tmp_path):
    with pytest.raises(CommandError, match="2031-01"):
        call_command("board_pack", cycle="2031-01", output=str(tmp_path / "p.pdf"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("board_pack", cycle="2027-01", output=str(tmp_path / "no" / "p.pdf"))


def test_the_review_shows_the_button_to_company_readers_only(client, plan, executive, planner_a):
    client.force_login(executive)
    assert (
        'data-testid="board-pack-button"' in client.get("/cycles/2027-01/review/").content.decode()
    )
    client.force_login(planner_a)
    page = client.get("/cycles/2027-01/review/").content.decode()
    assert 'data-testid="board-pack-button"' not in page


@pytest.mark.django_db(transaction=True)
def test_the_migration_is_reversible():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = ("planning", "0012_empty_cell_comment_measures")
    after = ("planning", "0013_i20_board_pack")
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        assert "planning_boardpack" not in connection.introspection.table_names()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert "planning_boardpack" in connection.introspection.table_names()
    assert after in MigrationExecutor(connection).loader.applied_migrations


def test_the_pack_lists_the_assumptions_behind_changes_and_compares_scenarios(
    family_a, family_b, executive
):
    """The two sections read the register's and the comparison's one selectors: an
    assumption behind the plan's biggest change and a scenario with its deltas."""
    from planning.services.assumptions import assumption_create
    from planning.services.plan_values import CellInput, plan_values_upsert
    from planning.services.scenarios import scenario_create
    from tests.planning.assumption_data import MAR, moved_plan

    _, cycle = moved_plan(family_a, family_b)
    assumption_create(
        cycle=cycle,
        user=executive,
        value_stream="A",
        product_family="A-1",
        measure="demand",
        first_month=MAR,
        last_month=MAR,
        text="Spring promotion",
    )
    scenario = scenario_create(cycle=cycle, name="second-shift", user=executive)
    plan_values_upsert(
        cycle=cycle.in_scenario(scenario),
        cells=[CellInput("A", "A-1", MAR, "demand", Decimal("999"))],
        user=None,
    )
    context = board_pack_context(cycle, built_at=dt.datetime.now(dt.UTC))
    [behind] = context["assumptions"]
    assert (behind["assumption"], behind["month"], behind["change"]) == (
        "Spring promotion",
        "2027-03",
        200.0,
    )
    plan, shift = context["scenarios"]
    assert (plan["name"], shift["name"]) == ("Plan", "second-shift")
    demand = {f["label"]: f for f in shift["figures"]}["Demand"]
    base = {f["label"]: f for f in plan["figures"]}["Demand"]
    assert demand["delta"] == pytest.approx(demand["value"] - base["value"]) != 0


def test_the_exception_table_never_breaks_a_heading_or_a_code_mid_word(plan, printer, settings):
    """Narrow columns used to print "Strea|m", "Acknowledge|d" and "PMP-|ECO"."""
    from planning.services.plan_values import CellInput, plan_values_upsert
    from tests.factories import ProductFamilyFactory

    valves = ValueStreamFactory(code="VALVES")
    ProductFamilyFactory(code="VLV-SMT", value_stream=valves)
    ProductFamilyFactory(code="VLV-IOT-SMART-2000", value_stream=valves)
    month = plan.month
    cells = [CellInput("VALVES", "VLV-SMT", month, "demand", Decimal("1809.7"))]
    cells.append(CellInput("VALVES", "VLV-IOT-SMART-2000", month, "demand", Decimal("12")))
    cells.append(CellInput("VALVES", "", month, "available_hours", Decimal("10")))
    plan_values_upsert(cycle=plan, cells=cells, user=None)
    pages = pdf_pages(board_pack_render(plan).data)
    page = " ".join(next(p for p in pages if "Outside" in p and "2 · Exceptions" in p).split())
    assert "# Kind Stream Family Month What Outside by Acknowledged" in page
    assert "VALVES VLV-SMT" in page and "VLV-IOT-SMART-2000" in page
    # codes stay whole however narrow the column gets (the demo's long "What" texts)
    html = board_pack_html(plan)
    assert '<td class="code">VALVES</td>' in html and '<td class="code">VLV-SMT</td>' in html
    css = (settings.BASE_DIR / "static/css/board_pack.css").read_text()
    assert ".table .code { white-space: nowrap; }" in css


def test_money_rows_of_the_pack_name_the_company_currency(plan):
    from planning.models import Company
    from planning.selectors.cycles import company_cache_clear

    Company.objects.update(currency="CHF")
    company_cache_clear()
    page = board_pack_html(plan)
    assert "Revenue (CHF)" in page and "Material cost (CHF)" in page
    assert "Return on sales (CHF)" not in page
