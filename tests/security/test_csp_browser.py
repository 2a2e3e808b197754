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
