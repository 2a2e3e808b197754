"""The grid never loses or misplaces a keystroke: machine-speed and human-speed typing,
saves that fail, and deep links, in Chromium against the real server.

Every test also listens to the page: a console error or an uncaught exception fails it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from planning.calendar import month_add
from planning.services.plan_values import CellInput, plan_values_upsert
from tests.browser.test_grid import cell, open_grid, stored, wait_saved
from tests.factories import CycleFactory, ProductFamilyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JAN = dt.date(2027, 1, 1)
MONTHS = [month_add(JAN, i) for i in range(18)]


def field(i: int) -> str:
    return f"m{MONTHS[i]:%Y-%m}"


@pytest.fixture
def typing_plan(stream_a, planner_a):
    """Stream A with three families and values in every demand/production cell, so each
    save recomputes rows that are on screen while typing goes on."""
    cycle = CycleFactory(month=JAN, status="in_progress")
    cells = []
    for code in ("A-1", "A-2", "A-3"):
        ProductFamilyFactory(code=code, value_stream=stream_a, hours_per_unit=Decimal("1"))
        cells.append(CellInput("A", code, JAN, "opening_inventory", Decimal("100")))
        for m in MONTHS:
            cells.append(CellInput("A", code, m, "demand", Decimal("50")))
            cells.append(CellInput("A", code, m, "production", Decimal("50")))
    plan_values_upsert(cycle=cycle, cells=cells, user=None, source="demo")
    return cycle


def burst(page, entries: list[tuple[str, str]], delay: float = 0) -> None:
    """Type each text then press its key, nothing waited for between them (Playwright's
    ``type`` inserts a tab character as text, so Tab is a key press of its own)."""
    for text, key in entries:
        if text:
            page.keyboard.type(text, delay=delay)
        if key:
            page.keyboard.press(key, delay=delay)


def values(cycle, family: str, measure: str) -> list[Decimal | None]:
    return [stored(cycle, family, measure, m) for m in MONTHS]


def test_keys_at_machine_speed_land_in_their_cells(typing_plan, watched, live_server):
    page = open_grid(watched("planner_a"), live_server, "/cycles/2027-01/grid/A/")
    cell(page, "A-1|demand", field(0)).click()
    # 18 values with Tab at 0 ms between keys: saves answer (and recompute inventory on
    # the rows around) while the next values are being typed.
    burst(page, [(str(100 + i), "Tab") for i in range(17)] + [("117", "Enter")])
    # Enter moved down from the last month: production of the last month.
    burst(page, [("7", "Enter")])
    wait_saved(page)
    assert values(typing_plan, "A-1", "demand") == [Decimal(100 + i) for i in range(18)]
    assert stored(typing_plan, "A-1", "production", MONTHS[17]) == Decimal("7")
    assert stored(typing_plan, "A-1", "production", MONTHS[16]) == Decimal("50")
    for i in (0, 9, 17):
        assert cell(page, "A-1|demand", field(i)).inner_text() == str(100 + i)

    # Enter down a column, then arrows across: typed entries commit and move, at 0 ms.
    cell(page, "A-2|demand", field(2)).click()
    burst(
        page,
        [
            ("11", "Enter"),  # A-2 demand, March
            ("12", "ArrowRight"),  # A-2 production, March, then April
            ("22", "ArrowRight"),  # production April, then May
            ("23", "ArrowUp"),  # production May, then demand May
            ("24", "Shift+Tab"),  # demand May, then demand April
            ("25", "ArrowDown"),  # demand April, then production April
            ("26", "Enter"),  # production April again
        ],
    )
    wait_saved(page)
    assert stored(typing_plan, "A-2", "demand", MONTHS[2]) == Decimal("11")
    assert stored(typing_plan, "A-2", "production", MONTHS[2]) == Decimal("12")
    assert stored(typing_plan, "A-2", "production", MONTHS[3]) == Decimal("26")
    assert stored(typing_plan, "A-2", "production", MONTHS[4]) == Decimal("23")
    assert stored(typing_plan, "A-2", "demand", MONTHS[4]) == Decimal("24")
    assert stored(typing_plan, "A-2", "demand", MONTHS[3]) == Decimal("25")
    assert values(typing_plan, "A-3", "demand") == [Decimal("50")] * 18
    assert "Saved" in page.locator("#grid-status").inner_text()


def test_the_same_cell_typed_twice_quickly_saves_in_order(typing_plan, watched, live_server):
    page = open_grid(watched("planner_a"), live_server, "/cycles/2027-01/grid/A/")
    cell(page, "A-1|production", field(3)).click()
    burst(page, [("5", "Tab"), ("", "Shift+Tab"), ("6", "Tab"), ("", "Shift+Tab"), ("7", "Enter")])
    wait_saved(page)
    assert stored(typing_plan, "A-1", "production", MONTHS[3]) == Decimal("7")
    pv = typing_plan.values.get(product_family__code="A-1", measure="production", month=MONTHS[3])
    assert sorted(pv.changes.values_list("new_value", flat=True)) == [5, 6, 7, 50]
    assert pv.version == 4


def test_keys_at_human_speed_and_a_pasted_block(typing_plan, watched, live_server):
    page = open_grid(watched("planner_a"), live_server, "/cycles/2027-01/grid/A/")
    cell(page, "A-3|production", field(0)).click()
    burst(page, [("61", "Tab"), ("62", "Tab"), ("63", "Enter")], delay=90)
    wait_saved(page)
    assert values(typing_plan, "A-3", "production")[:4] == [
        Decimal("61"),
        Decimal("62"),
        Decimal("63"),
        Decimal("50"),
    ]
    # A block pasted at A-1 demand, January: 2 × 3 cells in one save.
    cell(page, "A-1|demand", field(0)).click()
    page.evaluate(
        """t => { const d = new DataTransfer(); d.setData('text/plain', t);
        document.activeElement.dispatchEvent(new ClipboardEvent('paste',
        {clipboardData: d, bubbles: true, cancelable: true})); }""",
        "1\t2\t3\n4\t5\t6\n",
    )
    wait_saved(page)
    assert values(typing_plan, "A-1", "demand")[:3] == [Decimal(v) for v in "123"]
    assert values(typing_plan, "A-1", "production")[:3] == [Decimal(v) for v in "456"]


def test_a_failed_save_keeps_the_value_marked_unsaved_until_retry(
    typing_plan, watched, live_server
):
    page = watched("planner_a", failing_network=True)
    open_grid(page, live_server, "/cycles/2027-01/grid/A/")
    # The network drops the next save.
    page.route("**/save/", lambda route: route.abort())
    target = cell(page, "A-1|demand", field(5))
    target.click()
    page.keyboard.type("321\n", delay=0)
    expect(page.locator("#grid-error")).to_contain_text("1 cell not saved")
    expect(page.locator("#grid-error")).to_contain_text("could not be reached")
    assert "is-unsaved" in target.get_attribute("class")
    assert "Not saved" in target.get_attribute("title")
    assert target.inner_text().endswith("321")
    assert "Not saved" in page.locator("#grid-status").inner_text()
    assert stored(typing_plan, "A-1", "demand", MONTHS[5]) == Decimal("50")

    # Back online: Retry saves the kept value.
    page.unroute("**/save/")
    page.click("#btn-retry")
    wait_saved(page)
    assert stored(typing_plan, "A-1", "demand", MONTHS[5]) == Decimal("321")
    assert "is-unsaved" not in target.get_attribute("class")
    assert page.locator("#grid-error").is_hidden()


def test_a_refused_save_can_be_discarded(typing_plan, watched, live_server):
    page = watched("planner_a", failing_network=True)
    open_grid(page, live_server, "/cycles/2027-01/grid/A/")
    page.route(
        "**/save/",
        lambda route: route.fulfill(
            status=503,
            content_type="application/problem+json",
            body='{"detail": "The database is busy; nothing was saved."}',
        ),
    )
    target = cell(page, "A-2|production", field(1))
    target.click()
    page.keyboard.type("999\n", delay=0)
    expect(page.locator("#grid-error")).to_contain_text("The database is busy")
    assert "is-unsaved" in target.get_attribute("class")
    page.unroute("**/save/")
    page.click("#btn-discard")
    expect(target).to_have_text("50")
    assert "is-unsaved" not in target.get_attribute("class")
    assert stored(typing_plan, "A-2", "production", MONTHS[1]) == Decimal("50")


def test_a_deep_link_opens_with_the_cell_active_and_typing_edits_it(
    typing_plan, watched, live_server
):
    page = watched("planner_a")
    link = "/cycles/2027-01/grid/A/?family=A-3&month=2028-04&measure=production"
    open_grid(page, live_server, link)
    target = cell(page, "A-3|production", "m2028-04")
    assert "is-linked" in target.get_attribute("class")
    assert target.is_visible()
    box = target.bounding_box()
    holder = page.locator(".tabulator-tableholder").bounding_box()
    assert holder["x"] <= box["x"] and box["x"] + box["width"] <= holder["x"] + holder["width"]
    assert holder["y"] <= box["y"] and box["y"] + box["height"] <= holder["y"] + holder["height"]
    page.keyboard.type("88\n", delay=0)
    wait_saved(page)
    assert stored(typing_plan, "A-3", "production", dt.date(2028, 4, 1)) == Decimal("88")

    # Opening inventory has its own place: the ending-inventory row's Opening column.
    open_grid(page, live_server, "/cycles/2027-01/grid/A/?family=A-2&measure=opening_inventory")
    assert "is-linked" in cell(page, "A-2|ending_inventory", "opening").get_attribute("class")
    page.keyboard.type("5\n", delay=0)
    wait_saved(page)
    assert stored(typing_plan, "A-2", "opening_inventory", JAN) == Decimal("5")

    # A link to a cell that is not there says so.
    open_grid(page, live_server, "/cycles/2027-01/grid/A/?family=NOPE&measure=demand")
    expect(page.locator("#grid-error")).to_contain_text("is not in this grid")
