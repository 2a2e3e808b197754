"""The board pack in Chromium: the review's button downloads the PDF, and nothing on the
printed page is wider than A4 landscape (twenty value streams included)."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader

from sofp.pdf import A4_LANDSCAPE_CONTENT_PX
from tests.dashboard_data import build_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Everything laid out on the printed page: tables and their cells, charts and their SVG.
WIDER_THAN_THE_PAGE = """
width => Array.from(document.querySelectorAll(
    'section, table, tr, th, td, .chart, .chart-slot, svg.main-svg, p, h1, h2, h3'))
  .map(el => ({el, r: el.getBoundingClientRect()}))
  .filter(({el, r}) => r.right > width + 0.5 || r.left < -0.5
                       || el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'svg')
  .map(({el, r}) => `${el.tagName}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`)
"""


@pytest.fixture
def wide_company(db):
    return build_company(streams=20, families=2)


@pytest.fixture
def printer(settings, chromium_path):
    settings.SOFP_CHROMIUM_PATH = chromium_path


def test_nothing_on_the_print_view_is_wider_than_the_page(
    wide_company, executive, login_page, live_server
):
    page = login_page(executive.username)
    width, height = A4_LANDSCAPE_CONTENT_PX
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(media="print")
    page.goto(f"{live_server.url}/cycles/{wide_company.label}/board-pack/preview/")
    page.wait_for_selector("html[data-print-ready]", state="attached")
    assert page.locator("[data-testid=pack-box-score]").count() == 3  # 21 columns in 7s
    assert page.locator(".chart svg.main-svg").count() >= 5  # drawn by plotly.js
    offenders = page.evaluate(WIDER_THAN_THE_PAGE, width)
    assert offenders == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_review_button_downloads_the_pack(
    wide_company, executive, login_page, live_server, printer
):
    page = login_page(executive.username)
    page.goto(f"{live_server.url}/review/")
    with page.expect_download(timeout=120_000) as info:
        page.locator("[data-testid=board-pack-button]").click()
    download = info.value
    assert download.suggested_filename == f"sofp-board-pack-{wide_company.label}.pdf"
    with open(download.path(), "rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    n = len(reader.pages)
    texts = [unicodedata.normalize("NFKC", p.extract_text()) for p in reader.pages]
    assert all(f"page {i} of {n}" in t for i, t in enumerate(texts, start=1))
    everything = " ".join(" ".join(texts).split())
    assert "S19" in everything and "Company" in everything  # the twentieth stream's column
    for box in reader.pages:  # A4 landscape, in points
        size = (float(box.mediabox.width), float(box.mediabox.height))
        assert abs(size[0] - 842) < 2 and abs(size[1] - 595) < 2


@pytest.fixture
def small_company(db):
    from django.utils import timezone

    return build_company(streams=2, families=2, month=timezone.localdate().replace(day=1))


def test_a_second_click_downloads_the_same_pack_and_a_change_prints_afresh(
    small_company, executive, login_page, live_server, printer
):
    """Issue 20: nothing changed → the same bytes (the pack carries its build time, so
    equal bytes mean it was not printed again); a plan change → a new pack."""
    from decimal import Decimal

    from planning.services.plan_values import CellInput, plan_values_upsert

    page = login_page(executive.username)
    page.goto(f"{live_server.url}/review/")

    def download() -> bytes:
        with page.expect_download(timeout=120_000) as info:
            page.locator("[data-testid=board-pack-button]").click()
        with open(info.value.path(), "rb") as f:
            return f.read()

    first = download()
    second = download()
    assert first.startswith(b"%PDF-") and second == first
    plan_values_upsert(
        cycle=small_company,
        cells=[CellInput("S00", "S00-F000", small_company.month, "demand", Decimal("777"))],
        user=None,
    )
    assert download() != first
