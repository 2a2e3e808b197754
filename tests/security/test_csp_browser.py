"""The Content-Security-Policy holds in a real browser and still lets Plotly draw."""

from __future__ import annotations

import pytest


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.security.urls_csp")
def test_plotly_charts_render_under_the_csp_and_stray_inline_scripts_do_not(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(f"{live_server.url}/test/csp/")
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    page.hover(".main-svg")  # hover labels create more inline styles

    assert page.locator("#chart .main-svg").count() >= 1
    assert page.locator("#chart .bars path").count() == 3
    assert page.evaluate("window.nonceRan") is True
    assert page.evaluate("window.inlineRan") is None  # no nonce: blocked
    refusals = [m for m in console if "Content Security Policy" in m]
    # Exactly one refusal: the inline script without the nonce. Plotly needs no eval.
    assert len(refusals) == 1, refusals
    assert "inline script" in refusals[0]
    assert "eval" not in " ".join(refusals)
    assert page.evaluate("window.cspViolations || []") == []
    context.close()


# user, page, something the page's JavaScript draws (proof that it ran under the policy)
PAGES = [
    ("planner_a", "/", None),
    ("planner_a", "/cycles/2027-01/grid/A/", ".tabulator-row"),
    ("planner_a", "/cycles/2027-01/upload/", None),
    ("exec", "/cycles/2027-01/review/", ".js-plotly-plot .main-svg"),
    ("exec", "/value-streams/A/?cycle=2027-01", ".js-plotly-plot .main-svg"),
    ("exec", "/cycles/2027-01/company/", ".tabulator-row"),
    ("planner_a", "/cycles/2027-01/demand/A/", ".tabulator-row"),
    ("planner_a", "/cycles/2027-01/grid/A/?family=A-1&month=2027-03&measure=demand", ".is-linked"),
    ("exec", "/cycles/2027-01/reconcile/", "#reconcile"),
    ("exec", "/cycles/2027-01/prices/", "#prices"),
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_apps_pages_run_under_the_csp_without_violations(
    browser, live_server, planner_a, executive, family_a, cycle, password
):
    from decimal import Decimal

    from tests.factories import PlanValueFactory

    for month in cycle.horizon_months()[:6]:
        PlanValueFactory(cycle=cycle, product_family=family_a, month=month, value=Decimal("90"))
    for username in ("planner_a", "exec"):
        context = browser.new_context(viewport={"width": 1400, "height": 900})  # CSP enforced
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m, p=problems: p.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, p=problems: p.append(str(e)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for who, path, drawn in PAGES:
            if who != username:
                continue
            response = page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            assert response.status == 200, path
            if drawn:
                page.wait_for_selector(drawn, timeout=15000)
            assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()}
        context.close()
        csp = [p for p in problems if "Content Security Policy" in p or "unsafe-eval" in p]
        assert csp == [], csp
        assert problems == [], problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_api_docs_render_under_the_strict_csp(browser, live_server, executive, password):
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "exec")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    response = page.goto(f"{live_server.url}/api/v1/docs/")
    assert (
        "'unsafe-inline'"
        not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()
