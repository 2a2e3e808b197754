"""The register's page, its CSV export, the grid's JSON endpoint and the review's list."""

from __future__ import annotations

import csv
import io

import pytest

from planning.models import Assumption
from tests.factories import PASSWORD
from tests.planning.assumption_data import JAN, approve, assumption_new, moved_plan

pytestmark = pytest.mark.django_db
PAGE = "/cycles/2027-01/assumptions/"


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


_new = assumption_new


def test_page_lists_filters_adds_and_changes_status(client, cycle, family_a, family_b, planner_a):
    _login(client, planner_a)
    empty = client.get(PAGE)
    assert empty.status_code == 200 and b"No assumptions yet" in empty.content
    form = {
        "value_stream": "A",
        "product_family": "A-1",
        "measure": "demand",
        "first_month": "2027-01",
        "last_month": "2027-02",
        "owner": "planner_a",
        "status": "open",
        "text": "Acme tender",
        "impact": "+50",
    }
    assert client.post(PAGE, form).status_code == 302
    a = Assumption.objects.get()
    refused = client.post(PAGE, {**form, "value_stream": "B", "product_family": "B-1"})
    assert refused.status_code == 403 and Assumption.objects.count() == 1
    bad = client.post(PAGE, {**form, "first_month": "2027-03", "text": ""})
    assert bad.status_code == 400
    assert b"last_month" in bad.content and b"text" in bad.content
    listed = client.get(PAGE, {"status": "open", "product_family": "A-1"})
    assert f'data-assumption="{a.pk}"'.encode() in listed.content
    assert b"data-assumption=" not in client.get(PAGE, {"status": "retired"}).content
    status_url = f"{PAGE}{a.pk}/status/"
    assert client.post(status_url, {"status": "confirmed", "version": 1}).status_code == 302
    a.refresh_from_db()
    assert (a.status, a.version) == ("confirmed", 2)
    client.post(status_url, {"status": "retired", "version": 1})  # stale: refused
    a.refresh_from_db()
    assert a.status == "confirmed"
    detail = client.get(f"{PAGE}{a.pk}/")
    assert b"confirmed" in detail.content and b"status" in detail.content
    assert client.post(f"{PAGE}{a.pk}/", {"action": "delete", "version": 2}).status_code == 302
    assert not Assumption.objects.exists()


def test_csv_export_follows_the_filters_and_is_safe_in_excel(
    client, cycle, family_a, family_b, executive
):
    _new(cycle, executive, text='=HYPERLINK("http://x")', impact="+50")
    _new(
        cycle,
        executive,
        value_stream="B",
        product_family="",
        measure="available_hours",
        text="Second shift",
    )
    _login(client, executive)
    response = client.get("/cycles/2027-01/assumptions.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "assumptions-2027-01.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [
        (
            r["value_stream"],
            r["product_family"],
            r["measure"],
            r["first_month"],
            r["last_month"],
            r["status"],
            r["owner"],
        )
        for r in rows
    ] == [
        ("A", "A-1", "demand", "2027-01", "2027-03", "open", "exec"),
        ("B", "", "available_hours", "2027-01", "2027-03", "open", "exec"),
    ]
    assert rows[0]["text"] == '\'=HYPERLINK("http://x")' and rows[0]["impact"] == "'+50"
    only_b = client.get("/cycles/2027-01/assumptions.csv", {"value_stream": "B"})
    assert len(list(csv.DictReader(io.StringIO(only_b.content.decode())))) == 1


def test_grid_endpoint_lists_and_creates(
    client, cycle, family_a, family_b, planner_a, finance_user
):
    url = "/cycles/2027-01/grid/A/assumptions/"
    _login(client, planner_a)
    body = client.get(url).json()
    assert body["assumptions"] == [] and "demand" in body["measures"]
    assert (body["first_month"], body["last_month"]) == ("2027-01", "2028-06")
    made = client.post(
        url,
        {
            "product_family": "A-1",
            "measure": "demand",
            "first_month": "2027-02",
            "last_month": "2027-04",
            "text": "Range from the grid",
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["assumption"]["owner"] == "planner_a"
    assert client.get(url).json()["assumptions"][0]["text"] == "Range from the grid"
    assert client.get("/cycles/2027-01/grid/B/assumptions/").status_code == 403
    bad = client.post(url, {"measure": "demand", "text": "x"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "first_month"
    client.logout()
    _login(client, finance_user)
    assert client.get(url).json()["measures"] == []
    denied = client.post(
        url,
        {"measure": "conversion_cost", "first_month": "2027-02", "text": "x"},
        content_type="application/json",
    )
    assert denied.status_code == 403
    approve(cycle)
    client.logout()
    _login(client, planner_a)
    assert client.get(url).json()["measures"] == []
    frozen = client.post(
        url,
        {"product_family": "A-1", "measure": "demand", "first_month": "2027-02", "text": "x"},
        content_type="application/json",
    )
    assert frozen.status_code == 409


def test_review_shows_explained_changes_and_the_assumptions_behind_them(
    client, family_a, family_b, executive
):
    _, cycle = moved_plan(family_a, family_b)
    _new(cycle, executive, last_month=JAN, text="Acme tender in January")
    _login(client, executive)
    page = client.get("/cycles/2027-01/review/").content.decode()
    assert 'data-testid="explained"' in page and "Acme tender in January" in page
    assert 'data-testid="assumptions-behind"' in page
    behind = page.split('data-testid="assumptions-behind"')[1].split("</section>")[0]
    assert "Acme tender in January" in behind and "2027-01" in behind


def test_import_round_trips_the_export_and_refuses_a_bad_file_whole(
    client, cycle, family_a, family_b, executive, planner_a, tmp_path
):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    a = _new(cycle, executive, text="=formula-looking text", impact="+50")
    _login(client, executive)
    exported = client.get("/cycles/2027-01/assumptions.csv").content
    # The export read back changes nothing (escaped text included).
    path = tmp_path / "a.csv"
    path.write_bytes(exported)
    call_command("import_assumptions", str(path), "--cycle", "2027-01")
    a.refresh_from_db()
    assert (a.version, a.text, a.impact) == (1, "=formula-looking text", "+50")
    # New rows and a change, through the page.
    text = exported.decode().replace(",open,1,", ",confirmed,1,")
    text += ",B,,available_hours,2027-02,2027-04,Second shift,exec,,open,,,\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.csv", text.encode(), content_type="text/csv")
    page = client.post("/cycles/2027-01/assumptions/import/", {"file": upload}, follow=True)
    assert b"1 created, 1 changed" in page.content
    a.refresh_from_db()
    assert (a.status, a.version) == ("confirmed", 2)
    assert Assumption.objects.filter(measure="available_hours", product_family=None).count() == 1
    # A bad file: every problem by line and column, nothing written.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "value_stream,product_family,measure,first_month,last_month,text,owner,impact,status\n"
        "A,A-1,demand,2027-01,2027-02,Fine,exec,,open\n"
        "A,B-1,demand,2027-13,2027-02,Wrong family,exec,,open\n"
        "A,A-1,demand,2027-03,2027-02,,ghost,,open\n"
    )
    count = Assumption.objects.count()
    with pytest.raises(CommandError) as exc:
        call_command("import_assumptions", str(bad), "--cycle", "2027-01")
    message = str(exc.value)
    assert "line 3" in message and "first_month" in message
    assert "line 4" in message and "owner" in message
    assert Assumption.objects.count() == count
    # Rights apply per row: a planner of A cannot import into B.
    client.logout()
    _login(client, planner_a)
    upload = SimpleUploadedFile(
        "b.csv",
        (
            b"value_stream,product_family,measure,first_month,last_month,text,owner,impact,status\n"
            b"B,B-1,demand,2027-01,2027-02,Not mine,planner_a,,open\n"
        ),
        content_type="text/csv",
    )
    page = client.post("/cycles/2027-01/assumptions/import/", {"file": upload}, follow=True)
    assert b"may not change" in page.content and Assumption.objects.count() == count
