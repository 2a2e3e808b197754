"""Upload (check → preview → confirm) and download in the browser."""

from __future__ import annotations

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from planning.models import PlanValue, PlanValueChange
from planning.uploads import SESSION_KEY
from tests.factories import PASSWORD, CycleFactory

HEADER = "value_stream,product_family,month,measure,value\n"
GOOD = (
    HEADER + "A,A-1,2027-01,demand,100\nA,A-1,2027-02,demand,90\nA,,2027-01,available_hours,800\n"
)
UPLOAD = "/cycles/2027-01/upload/"
DOWNLOAD = "/cycles/2027-01/download/"


@pytest.fixture
def planner_client(client, planner_a, family_a, family_b, cycle, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    client.force_login(planner_a)
    return client


def upload(client, text: str | bytes, name: str = "plan.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(UPLOAD, {"action": "preview", "file": SimpleUploadedFile(name, data)})


def token_of(response) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', response.content.decode()).group(1)


def test_urls_are_the_agreed_ones():
    assert reverse("plan_upload", args=["2027-01"]) == UPLOAD
    assert reverse("plan_download", args=["2027-01"]) == DOWNLOAD


def test_upload_page_needs_login(client, cycle):
    response = client.get(UPLOAD)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_upload_page_shows_the_form(planner_client):
    page = planner_client.get(UPLOAD).content.decode()
    assert 'type="file"' in page and 'accept=".csv,.xlsx"' in page
    assert "js/upload.js" in page
    assert "<script>" not in page  # no inline code (CSP)


def test_unknown_cycle_is_404(planner_client):
    assert planner_client.get("/cycles/2031-01/upload/").status_code == 404
    assert planner_client.get("/cycles/2031-01/download/").status_code == 404


def test_bad_file_shows_every_problem_by_line_and_writes_nothing(planner_client):
    bad = HEADER + "A,A-1,2027-13,demand,1\nA,A-1,2027-01,demand,abc\nZZ,A-1,2027-01,demand,1\n"
    response = upload(planner_client, bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "3 problems — nothing was saved" in page
    assert "line 2, column month: &#x27;2027-13&#x27; is not a month" in page
    assert "line 3, column value: &#x27;abc&#x27; is not a number" in page
    assert "line 4: unknown value stream &#x27;ZZ&#x27;" in page
    assert 'name="token"' not in page  # nothing to confirm
    assert PlanValue.objects.count() == 0


def test_good_file_is_previewed_then_written_on_confirm(planner_client, planner_a):
    response = upload(planner_client, GOOD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Check before importing plan.csv" in page
    assert re.search(r'data-testid="preview-added">3<', page)
    assert "Import 3 changes" in page
    assert PlanValue.objects.count() == 0  # nothing written before the confirm
    token = token_of(response)
    assert planner_client.session[SESSION_KEY][token]["name"] == "plan.csv"

    done = planner_client.post(UPLOAD, {"action": "confirm", "token": token}, follow=True)
    assert "plan.csv imported into cycle 2027-01: 3 added, 0 changed, 0 unchanged." in (
        done.content.decode()
    )
    assert PlanValue.objects.filter(updated_by=planner_a).count() == 3
    assert PlanValueChange.objects.filter(source="import", changed_by=planner_a).count() == 3
    # the token is spent: confirming again writes nothing more
    again = planner_client.post(UPLOAD, {"action": "confirm", "token": token}, follow=True)
    assert "expired or was already used" in again.content.decode()
    assert PlanValueChange.objects.count() == 3


def test_preview_shows_changes_per_value_stream(planner_client):
    upload(planner_client, GOOD)
    response = upload(planner_client, GOOD.replace("demand,100", "demand,120"))
    page = response.content.decode()
    assert re.search(r'data-testid="preview-changed">0<', page)  # first preview wrote nothing
    planner_client.post(UPLOAD, {"action": "confirm", "token": token_of(response)})
    response = upload(planner_client, GOOD.replace("demand,100", "demand,130"))
    page = response.content.decode()
    assert re.search(r'data-testid="preview-changed">1<', page)
    assert re.search(r'data-testid="preview-unchanged">2<', page)
    assert "<strong>A</strong>" in page


def test_preview_lists_each_changed_cell_old_to_new(planner_client):
    first = upload(planner_client, GOOD)
    planner_client.post(UPLOAD, {"action": "confirm", "token": token_of(first)})
    changed = GOOD.replace("demand,100", "demand,1250.5").replace(
        "A,,2027-01,available_hours,800\n", "A,,2027-01,available_hours,\n"
    )
    page = upload(planner_client, changed).content.decode()
    table = page[page.index('data-testid="preview-cells"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    texts = [re.sub(r"<[^>]+>", " ", r) for r in rows]
    texts = [" ".join(t.split()) for t in texts]
    assert "A A-1 demand 2027-01 100 → 1,250.50" in texts
    assert "A — available_hours 2027-01 800 → cleared" in texts
    assert len(texts) == 1 + 2  # the header and two cells: the unchanged one is not listed


def test_every_problem_at_once_includes_the_cells_one_may_not_change(planner_client, family_b):
    bad = HEADER + "A,A-1,2027-13,demand,1\nB,B-1,2027-01,demand,5\n"
    response = upload(planner_client, bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "2 problems — nothing was saved" in page
    assert "line 2, column month" in page
    assert "line 3" in page and "planner of value stream &#x27;B&#x27;" in page
    assert PlanValue.objects.count() == 0


def test_same_file_again_says_nothing_would_change(planner_client):
    response = upload(planner_client, GOOD)
    planner_client.post(UPLOAD, {"action": "confirm", "token": token_of(response)})
    page = upload(planner_client, GOOD).content.decode()
    assert "Nothing would change" in page
    assert 'value="confirm"' not in page


def test_cancel_discards_the_staged_file(planner_client, settings):
    response = upload(planner_client, GOOD)
    token = token_of(response)
    staged = Path(settings.VAR_DIR) / "uploads" / token
    assert staged.is_file()
    planner_client.post(UPLOAD, {"action": "cancel", "token": token})
    assert not staged.exists()
    assert PlanValue.objects.count() == 0


def test_a_token_from_another_session_is_refused(planner_client):
    from django.test import Client

    response = upload(planner_client, GOOD)
    other = Client()
    other.force_login(response.wsgi_request.user)  # same user, different session
    result = other.post(UPLOAD, {"action": "confirm", "token": token_of(response)}, follow=True)
    assert "expired or was already used" in result.content.decode()
    assert PlanValue.objects.count() == 0


def test_planner_cannot_upload_another_stream(planner_client):
    response = upload(planner_client, GOOD + "B,B-1,2027-01,demand,1\n")
    assert response.status_code == 403
    page = response.content.decode()
    assert "line 5: you are not a planner of value stream &#x27;B&#x27;" in page
    assert PlanValue.objects.count() == 0


def test_frozen_cycle_refuses_uploads(client, planner_a, family_a, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    CycleFactory(month=__import__("datetime").date(2027, 1, 1), status="approved")
    client.force_login(planner_a)
    assert "approved and frozen" in client.get(UPLOAD).content.decode()
    response = upload(client, GOOD)
    assert response.status_code == 409
    assert "approved and frozen" in response.content.decode()
    assert PlanValue.objects.count() == 0


def test_only_csv_and_xlsx_are_accepted(planner_client):
    response = upload(planner_client, b"hello", name="plan.txt")
    assert response.status_code == 400
    assert "only .csv and .xlsx files are accepted" in response.content.decode()


def test_upload_size_limit(planner_client, settings):
    settings.SOFP_UPLOAD_MAX_BYTES = 50
    response = upload(planner_client, GOOD)
    assert response.status_code == 413
    assert "the limit is 0.0 MB" in response.content.decode()
    assert PlanValue.objects.count() == 0


def test_missing_file(planner_client):
    response = planner_client.post(UPLOAD, {"action": "preview"})
    assert response.status_code == 400
    assert "Choose a .csv or .xlsx file" in response.content.decode()


def test_xlsx_upload(planner_client):
    book = openpyxl.Workbook()
    book.active.append(["value_stream", "product_family", "month", "measure", "value"])
    book.active.append(["A", "A-1", "2027-03", "production", 42])
    buf = io.BytesIO()
    book.save(buf)
    response = upload(planner_client, buf.getvalue(), name="plan.xlsx")
    assert response.status_code == 200
    planner_client.post(UPLOAD, {"action": "confirm", "token": token_of(response)})
    assert PlanValue.objects.get(measure="production").value == Decimal("42")


def test_user_without_edit_rights_sees_why(client, executive, finance_user, cycle):
    client.force_login(finance_user)  # finance edits company values, so it may upload
    assert 'type="file"' in client.get(UPLOAD).content.decode()
    # Executives read and approve; they change no plan value (SOFP.md's rights table).
    client.force_login(executive)
    assert 'type="file"' not in client.get(UPLOAD).content.decode()
    from tests.factories import UserFactory

    nobody = UserFactory(username="nobody")
    client.force_login(nobody)
    assert "You may not change any value stream" in client.get(UPLOAD).content.decode()


# --------------------------------------------------------------------------- download


def _load(cycle):
    from planning.imports import parse_plan
    from planning.services.plan_import import plan_import

    text = GOOD + "B,B-1,2027-01,demand,5\n,,2027-01,sustaining_cost,9\n"
    plan_import(cycle=cycle, rows=parse_plan(data=text.encode()).rows, user=None)


def test_download_csv_is_an_attachment_with_only_visible_streams(planner_client, cycle):
    _load(cycle)
    response = planner_client.get(DOWNLOAD + "?format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="sofp-plan-2027-01.csv"'
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["value_stream"] for r in rows} == {"A"}
    assert not any(r["measure"] == "company_profit" for r in rows)


def test_download_xlsx_for_an_executive_holds_every_stream(
    client, executive, family_a, family_b, cycle
):
    _load(cycle)
    client.force_login(executive)
    response = client.get(DOWNLOAD + "?format=xlsx")
    assert response["Content-Disposition"] == 'attachment; filename="sofp-plan-2027-01.xlsx"'
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    assert {r[0] for r in rows[1:]} == {"A", "B", None}


def test_download_bad_format_is_400(planner_client):
    assert planner_client.get(DOWNLOAD + "?format=pdf").status_code == 400


def test_download_refused_to_a_user_without_streams(client, cycle):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="outsider"))
    assert client.get(DOWNLOAD).status_code == 403


def test_home_page_offers_the_file_actions(planner_client, cycle):
    page = planner_client.get("/").content.decode()
    assert "Cycle 2027-01" in page
    assert 'href="/cycles/2027-01/upload/"' in page
    assert 'href="/cycles/2027-01/download/?format=xlsx"' in page


# --------------------------------------------------------------------------- real browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_in_chromium_shows_errors_then_preview_then_imports(
    login_page, planner_a, family_a, family_b, cycle, tmp_path, settings
):
    settings.VAR_DIR = tmp_path
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "A,A-1,2027-13,demand,1\nA,A-1,2027-01,demand,-3\nB,B-1,2027-01,demand,5\n"
    )
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    page = login_page(planner_a.username, PASSWORD)
    page.goto(page.url.split("/accounts")[0].rstrip("/") + UPLOAD)

    page.set_input_files("#id_file", str(bad))
    page.click("button:has-text('Check file')")
    errors = page.locator("[data-testid=upload-errors] li")
    errors.first.wait_for()
    # Every problem at once, the stream this planner may not change included.
    assert errors.count() == 3
    assert "line 2, column month" in errors.nth(0).inner_text()
    assert "line 3: demand must not be negative" in errors.nth(1).inner_text()
    assert "line 4" in errors.nth(2).inner_text() and "'B'" in errors.nth(2).inner_text()
    # The chosen file stays chosen after the error.
    chosen = page.eval_on_selector("#id_file", "el => el.files.length ? el.files[0].name : ''")
    assert chosen == "bad.csv"
    assert "bad.csv is still chosen" in page.locator("[data-upload-error]").inner_text()
    docs = Path(__file__).resolve().parents[2] / os.environ.get(
        "SOFP_SCREENSHOTS", "var/screenshots"
    )
    docs.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(docs / "upload-every-problem.png"), full_page=True)

    page.set_input_files("#id_file", str(good))
    page.click("button:has-text('Check file')")
    page.locator("text=Check before importing good.csv").wait_for()
    assert page.locator("[data-testid=preview-added]").inner_text() == "3"
    cells = page.locator("[data-testid=preview-cells] tbody tr")
    assert cells.count() == 3
    assert "empty" in cells.first.inner_text() and "→" in cells.first.inner_text()
    page.screenshot(path=str(Path("var") / "screenshot-upload-preview.png"), full_page=True)
    assert PlanValue.objects.count() == 0

    page.click("button:has-text('Import 3 changes')")
    page.locator("text=good.csv imported into cycle 2027-01").wait_for()
    assert PlanValue.objects.count() == 3


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_large_upload_shows_progress_and_too_large_is_caught_before_sending(
    login_page, planner_a, family_a, cycle, tmp_path, settings
):
    settings.VAR_DIR = tmp_path
    big = tmp_path / "big.csv"
    big.write_text(GOOD + (" " * 999 + "\n") * 2000)  # 2 MB, blank lines are skipped
    page = login_page(planner_a.username, PASSWORD)
    page.goto(page.url.split("/accounts")[0].rstrip("/") + UPLOAD)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    page.set_input_files("#id_file", str(big))
    page.click("button:has-text('Check file')")
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-upload-progress] progress');"
        " return p && p.value > 5 && p.value < 100; }",
        timeout=15_000,
    )
    assert "Uploading big.csv" in page.locator("[data-upload-status]").inner_text()
    assert page.locator("button:has-text('Check file')").is_disabled()
    page.screenshot(path=str(Path("var") / "screenshot-upload-progress.png"))
    page.locator("text=Check before importing big.csv").wait_for(timeout=30_000)
    assert page.locator("[data-testid=preview-added]").inner_text() == "3"

    settings.SOFP_UPLOAD_MAX_BYTES = 1000
    page.goto(page.url)
    page.set_input_files("#id_file", str(big))
    error = page.locator("[data-upload-error]")
    error.wait_for()
    assert "the limit is 0.0 MB" in error.inner_text()
