"""HTML to PDF in headless Chromium (Playwright): how the board pack is printed.

Chromium prints a page the server rendered, so the PDF is what a browser shows: the
vendored plotly.js draws the charts as vector graphics, CSS paged media breaks the pages
and Chromium's footer template numbers them ("page N of M"). Nothing loads from the
network: the page is served from memory at a made-up origin and ``/static/`` files come
from the static finders; every other request is aborted.

Chromium is found at ``settings.SOFP_CHROMIUM_PATH`` (Debian's ``/usr/bin/chromium`` by
default; the Docker image installs it). Where it or Playwright is missing,
:class:`RendererUnavailable` says so (503, never a 500); a render that fails or times out
raises :class:`RenderFailed` (503 as well, and the Celery task retries it).
"""

from __future__ import annotations

import html as html_lib
import io
import mimetypes
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

from sofp.errors import ApplicationError, Problem

ORIGIN = "http://sofp-print.invalid"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A4 landscape less 12 mm margins each side, in CSS pixels (96 per inch).
A4_LANDSCAPE_CONTENT_PX = (round((297 - 24) / 25.4 * 96), round((210 - 26) / 25.4 * 96))


class RendererUnavailable(ApplicationError):
    """Chromium (or Playwright) is not installed where the server runs."""

    status = 503
    code = "pdf_renderer_missing"
    title = "The PDF renderer is not available on this server"


class RenderFailed(ApplicationError):
    """Chromium started but did not produce the PDF (timeout, crash): worth retrying."""

    status = 503
    code = "pdf_render_failed"
    title = "The PDF could not be printed"


@dataclass(frozen=True)
class Pdf:
    data: bytes
    pages: int


def chromium_path() -> str:
    """The Chromium executable the settings name, resolved on ``PATH`` when bare."""
    configured = str(getattr(settings, "SOFP_CHROMIUM_PATH", "") or "/usr/bin/chromium")
    return shutil.which(configured) or configured


def renderer_check() -> str:
    """The Chromium path, or :class:`RendererUnavailable` naming what is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise RendererUnavailable(
            "The Python package playwright is not installed; run `make install`.",
            problems=[Problem("pdf_renderer_missing", "playwright is not installed")],
        ) from None
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        message = (
            f"Chromium was not found at {path}. Install it (Debian: apt-get install chromium) "
            "or set SOFP_CHROMIUM_PATH to its executable; see the README's prerequisites."
        )
        raise RendererUnavailable(
            message,
            problems=[Problem("pdf_renderer_missing", message, field="SOFP_CHROMIUM_PATH")],
        )
    return path


def page_count(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def _footer(text: str) -> str:
    # Header/footer templates have their own tiny default font: every style is inline.
    return (
        "<div style=\"font-family:'DejaVu Sans','Liberation Sans',sans-serif;"
        "font-size:8px;color:#555;width:100%;margin:0 12mm;display:flex;"
        'justify-content:space-between">'
        f"<span>{html_lib.escape(text)}</span>"
        '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
        "</div>"
    )


def _static_file(path: str) -> Path | None:
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if not path.startswith(prefix):
        return None
    found = finders.find(path[len(prefix) :])
    if not found and settings.STATIC_ROOT:
        candidate = Path(settings.STATIC_ROOT) / path[len(prefix) :]
        found = str(candidate) if candidate.is_file() else None
    return Path(found) if found else None


def html_to_pdf(
    page_html: str,
    *,
    footer: str,
    ready_selector: str = "html[data-print-ready]",
    timeout_ms: int | None = None,
) -> Pdf:
    """Print ``page_html`` to an A4 landscape PDF with "page N of M" in the footer.

    The page says it is ready (charts drawn) by matching ``ready_selector``. Elements
    with ``data-total-pages`` receive the page count: printed once, counted, filled in
    and printed again (the count is checked not to move).
    """
    chromium = renderer_check()
    # Playwright's sync API refuses to run inside a running event loop, or beside another
    # sync session in the same thread (a test's browser, an async server): print in a
    # thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf") as pool:
        return pool.submit(_print, page_html, chromium, footer, ready_selector, timeout_ms).result()


def _print(
    page_html: str, chromium: str, footer: str, ready_selector: str, timeout_ms: int | None
) -> Pdf:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    timeout = timeout_ms or int(getattr(settings, "SOFP_PDF_TIMEOUT_MS", 60_000))
    body = page_html.encode("utf-8")

    def serve(route) -> None:
        url = route.request.url
        path = url[len(ORIGIN) :].split("?", 1)[0] if url.startswith(ORIGIN) else None
        if path in ("", "/"):
            route.fulfill(status=200, body=body, content_type="text/html; charset=utf-8")
            return
        found = _static_file(path) if path else None
        if found is None:
            route.abort()  # nothing from the network, ever
            return
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        route.fulfill(status=200, body=found.read_bytes(), content_type=kind)

    options = {
        "format": "A4",
        "landscape": True,
        "print_background": True,
        "display_header_footer": True,
        "header_template": "<span></span>",
        "footer_template": _footer(footer),
        "margin": {"top": "12mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
    }
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, args=CHROMIUM_ARGS, headless=True, timeout=timeout
            )
            try:
                width, height = A4_LANDSCAPE_CONTENT_PX
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(timeout)
                page.route("**/*", serve)
                page.goto(ORIGIN + "/", wait_until="load")
                page.emulate_media(media="print")
                page.wait_for_selector(ready_selector, state="attached")
                data = page.pdf(**options)
                pages = page_count(data)
                if page.locator("[data-total-pages]").count():
                    page.evaluate(
                        "n => document.querySelectorAll('[data-total-pages]')"
                        ".forEach(e => { e.textContent = String(n); })",
                        pages,
                    )
                    data = page.pdf(**options)
                    again = page_count(data)
                    if again != pages:
                        raise RenderFailed(
                            f"The page count moved from {pages} to {again} while printing."
                        )
            finally:
                browser.close()
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RenderFailed(f"Chromium could not print the page: {first}") from exc
    return Pdf(data=data, pages=pages)
