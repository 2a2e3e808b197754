"""Every endpoint × anonymous, a planner of A (acting on B), an executive and an admin.

The API must say "no" exactly where the browser does: anonymous → 401, not your stream
→ 403 (or 404 when you may not even see it), frozen cycle → 409.
"""

from __future__ import annotations

import pytest

C = "/api/v1/cycles/2027-01"
F = "/api/v1/cycles/2026-12"
ROW_B = {"value_stream": "B", "product_family": "B-1", "month": "2027-02", "measure": "demand"}
ROW_A = {**ROW_B, "value_stream": "A", "product_family": "A-1"}

USERS = ("anonymous", "planner_a", "executive", "admin_user")
# (method, url, body, expected status for each of USERS)
MATRIX = [
    ("get", "/api/v1/cycles/", None, (401, 200, 200, 200)),
    ("get", f"{C}/", None, (401, 200, 200, 200)),
    ("post", f"{C}/approve/", {"override_reason": "test"}, (401, 403, 200, 200)),
    ("get", f"{C}/plan-values/", None, (401, 200, 200, 200)),
    ("get", f"{C}/plan-values/?format=csv", None, (401, 200, 200, 200)),
    ("post", f"{C}/plan-values/bulk/", [{**ROW_B, "value": "5"}], (401, 403, 403, 200)),
    (
        "post",
        f"{C}/actuals/",
        [{"product_family": "B-1", "month": "2026-12", "value": 3}],
        (401, 403, 403, 200),
    ),
    ("get", f"{C}/projections/families/", None, (401, 200, 200, 200)),
    ("get", f"{C}/projections/streams/", None, (401, 200, 200, 200)),
    ("get", f"{C}/projections/company/", None, (401, 403, 200, 200)),
    ("get", f"{C}/box-score/", None, (401, 200, 200, 200)),
    ("get", f"{C}/exceptions/", None, (401, 200, 200, 200)),
    ("get", f"{C}/accuracy/", None, (401, 200, 200, 200)),
    ("get", f"{C}/export/?format=json", None, (401, 200, 200, 200)),
    ("get", f"{C}/export/?format=csv", None, (401, 200, 200, 200)),
    ("get", "/api/v1/value-streams/", None, (401, 200, 200, 200)),
    ("get", "/api/v1/value-streams/B/", None, (401, 404, 200, 200)),
    ("get", "/api/v1/product-families/B-1/", None, (401, 404, 200, 200)),
    ("post", "/api/v1/value-streams/", {"code": "C", "name": "C"}, (401, 403, 403, 201)),
    ("patch", "/api/v1/product-families/A-1/", {"name": "New"}, (401, 403, 403, 200)),
    (
        "post",
        f"{F}/plan-values/bulk/",
        [{**ROW_A, "month": "2027-01", "value": 1}],
        (401, 409, 409, 409),
    ),
    ("post", f"{F}/approve/", {}, (401, 409, 409, 409)),
]


@pytest.mark.parametrize(("method", "url", "body", "expected"), MATRIX, ids=lambda v: str(v))
@pytest.mark.parametrize("who", range(len(USERS)), ids=USERS)
def test_permission_matrix(
    request, client_for, plan, frozen_cycle, planner_a, method, url, body, expected, who
):
    user = None if USERS[who] == "anonymous" else request.getfixturevalue(USERS[who])
    response = getattr(client_for(user), method)(url, body, format="json")
    assert response.status_code == expected[who], response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert "detail" in response.json() and "errors" in response.json()


def test_anonymous_gets_a_token_challenge(client_for, plan):
    response = client_for().get(f"{C}/plan-values/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_planner_reads_only_own_stream_and_no_company_rows(client_for, plan, planner_a):
    rows = client_for(planner_a).get(f"{C}/plan-values/?page_size=5000").json()["results"]
    assert rows and {r["value_stream"] for r in rows} == {"A"}


def test_executive_reads_every_stream_and_company_rows(client_for, plan, executive):
    rows = client_for(executive).get(f"{C}/plan-values/?page_size=5000").json()["results"]
    assert {r["value_stream"] for r in rows} == {"", "A", "B"}


def test_planner_export_leaves_out_other_streams_and_company(client_for, plan, planner_a):
    text = client_for(planner_a).get(f"{C}/export/?format=csv").content.decode()
    streams = {line.split(",")[0] for line in text.splitlines()[1:]}
    assert streams == {"A"}


def test_planner_writes_own_stream(client_for, plan, planner_a):
    response = client_for(planner_a).post(
        f"{C}/plan-values/bulk/", [{**ROW_A, "value": "7"}], format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["changed"] == 1


def test_session_login_works_for_the_browser(client, plan, planner_a, password):
    assert client.login(username="planner_a", password=password)
    assert client.get(f"{C}/plan-values/").status_code == 200


def test_a_token_from_drf_create_token_works(client, plan, planner_a):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("drf_create_token", "planner_a", stdout=out)
    key = out.getvalue().split()[2]  # "Generated token <key> for user planner_a"
    response = client.get(f"{C}/plan-values/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert client.get(f"{C}/", HTTP_AUTHORIZATION="Token wrong").status_code == 401
