"""What the step-5 board pack shows: the review's numbers for the whole company.

The pack is the same for every reader (the company view, every active value stream), so
it is built from :func:`planning.selectors.dashboards.review_page` with the company
perspective rather than a user's. Two sections come from work that lands separately and
plug in here, each a function returning plain dicts (the template renders nothing else):

* :func:`assumptions_behind_biggest_changes` — one dict per assumption, biggest change
  first: ``value_stream``, ``product_family``, ``month`` (YYYY-MM), ``measure`` (label),
  ``change`` (number or None), ``change_kind`` (a ``fmt`` kind: units, money, pct…),
  ``assumption`` (text), ``author`` (name), ``recorded_at`` (aware datetime or None).
* :func:`scenarios_compared` — one dict per scenario, the plan itself first:
  ``name``, ``note`` and ``figures``, a list of ``{"label", "kind", "value", "delta"}``
  (``delta`` against the plan, None for the plan); every scenario lists the same labels.

With no assumption behind a change, or no scenario, the pack says "No assumptions
recorded" / "No scenarios".
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from planning import dashboards
from planning.models import (
    BoardPack,
    Company,
    Decision,
    DecisionStatus,
    PlanningCycle,
)
from planning.selectors.dashboards import ReviewPage, exception_acks_attach, review_page
from valuestreams.models import ValueStream
from valuestreams.roles import user_reads_all_streams

MEETING_STEP = 5
EXCEPTIONS_SHOWN = 40  # worst first; the total is always given
ASSUMPTIONS_SHOWN = 10
BOX_COLUMNS_PER_TABLE = 7  # the company and six streams fit A4 landscape at 9 pt


def assumptions_behind_biggest_changes(cycle: PlanningCycle, limit: int) -> list[dict]:
    """The assumptions behind the plan's biggest changes (interface: module docstring),
    from the register's one selector (``selectors.assumptions``), company-wide."""
    from planning.measures import MEASURE_LABELS
    from planning.selectors import assumptions

    out = []
    for a in assumptions.assumptions_behind_biggest_changes(cycle, limit):
        change = a.get("change") or {}
        updated = a.get("updated_at") or ""
        out.append(
            {
                "value_stream": a["value_stream"],
                "product_family": change.get("product_family") or a["product_family"],
                "month": change.get("month") or a["first_month"],
                "measure": MEASURE_LABELS.get(a["measure"], a["measure"]),
                "change": change.get("change"),
                "change_kind": "units",
                "assumption": a["text"],
                "author": a["owner"] or a["updated_by"],
                "recorded_at": dt.datetime.fromisoformat(updated) if updated else None,
            }
        )
    return out


_UNIT_KIND = {"money": "money", "hours": "units", "qty": "units", "count": "int"}


def scenarios_compared(cycle: PlanningCycle) -> list[dict]:
    """The cycle's scenarios side by side with the plan (interface: module docstring):
    the comparison the review and step 3 show (``selectors.scenarios.scenario_compare``),
    for the first scenarios the page compares at once."""
    from planning.selectors.scenarios import MAX_COMPARED, scenario_compare, scenarios_of

    chosen = list(scenarios_of(cycle)[:MAX_COMPARED])
    if not chosen:
        return []
    comparison = scenario_compare(cycle=cycle, names=[sc.name for sc in chosen])
    rows = comparison.box.to_dict(orient="records")

    def figures(name: str | None) -> list[dict]:
        return [
            {
                "label": row["label"],
                "kind": _UNIT_KIND.get(row["unit"], "units"),
                "value": row["plan"] if name is None else row.get(name),
                "delta": None if name is None else row.get(f"{name} Δ"),
            }
            for row in rows
        ]

    out = [{"name": "Plan", "note": "the plan itself", "figures": figures(None)}]
    out += [{"name": sc.name, "note": sc.description, "figures": figures(sc.name)} for sc in chosen]
    return out


def user_may_read_board_pack(user) -> bool:
    """The pack shows the company and every stream: whoever reads all of them."""
    return user_reads_all_streams(user)


def board_packs_of(cycle: PlanningCycle) -> list[BoardPack]:
    """The archived packs of a cycle, without their bytes (for the cycle page)."""
    return list(BoardPack.objects.filter(cycle=cycle).defer("pdf").order_by("created_at", "pk"))


@dataclass
class BoxTable:
    columns: list[tuple[str, str]]
    rows: list[dict]


def _box_tables(page: ReviewPage) -> list[BoxTable]:
    """The box score cut into tables of at most ``BOX_COLUMNS_PER_TABLE`` columns, so
    twenty streams print on the page instead of running off its edge."""
    tables = []
    n = BOX_COLUMNS_PER_TABLE
    for start in range(0, max(1, len(page.box_columns)), n):
        tables.append(
            BoxTable(
                columns=page.box_columns[start : start + n],
                rows=[{**row, "cells": row["cells"][start : start + n]} for row in page.box_rows],
            )
        )
    return tables


def _decisions(cycle: PlanningCycle) -> list[dict]:
    """Decisions recorded in this cycle (new) and those of earlier cycles still open."""
    found = (
        Decision.objects.filter(
            Q(cycle=cycle) | Q(status=DecisionStatus.OPEN, cycle__month__lt=cycle.month)
        )
        .select_related("owner", "step", "cycle")
        .order_by("cycle__month", "due_date", "pk")
    )
    return [{"decision": d, "new": d.cycle_id == cycle.pk} for d in found]


def board_pack_context(cycle: PlanningCycle, *, built_at: dt.datetime) -> dict:
    """Everything the pack's template renders (the company perspective)."""
    streams = list(ValueStream.objects.filter(active=True).order_by("code"))
    page = (
        review_page(cycle=cycle, user=AnonymousUser(), streams=streams, company_view=True)
        if streams
        else None
    )
    exceptions, acks = [], {}
    if page is not None:
        exceptions = dashboards.exception_rows(
            page.analysis.exceptions, cycle.label, limit=EXCEPTIONS_SHOWN
        )
        acks = exception_acks_attach(cycle, exceptions)
    steps = list(cycle.steps.order_by("number"))
    meeting = next((s for s in steps if s.number == MEETING_STEP), None)
    decisions = _decisions(cycle)
    return {
        "company": Company.get(),
        "cycle": cycle,
        "built_at": built_at,
        "streams": streams,
        "page": page,
        "box_tables": _box_tables(page) if page is not None else [],
        "exceptions": exceptions,
        "exception_total": len(page.analysis.exceptions) if page is not None else 0,
        "acknowledged": len(acks),
        "steps": steps,
        "meeting": meeting,
        "agenda_lines": [ln.strip() for ln in (meeting.agenda if meeting else "").splitlines()]
        if meeting
        else [],
        "decisions": decisions,
        "decisions_open": sum(1 for d in decisions if d["decision"].status == "open"),
        "decisions_new": sum(1 for d in decisions if d["new"]),
        "assumptions": assumptions_behind_biggest_changes(cycle, ASSUMPTIONS_SHOWN),
        "scenarios": scenarios_compared(cycle),
    }


# --------------------------------------------------------------------------- fingerprint


def board_pack_fingerprint(cycle: PlanningCycle) -> str:
    """A digest of everything an open cycle's pack is built from, in one query: the
    review's stamp (:func:`planning.selectors.stamps.review_stamp`; the pack prints the
    review's figures, its decisions, minutes, assumptions and scenarios, and the closed
    month of the company's day). Equal digests mean an equal pack, so the printed PDF
    can be handed out again. (Its own checksums of names and master copies, by length
    and weighted sums, missed a rename to a name as long, or edits that cancelled out.)"""
    import hashlib

    from planning.selectors.stamps import review_stamp

    return hashlib.sha256(repr(review_stamp(cycle)).encode()).hexdigest()


# --------------------------------------------------------------------------- renderer

# The pack's page and the static files it links (the print inlines nothing else).
BOARD_PACK_TEMPLATE = "planning/board_pack.html"
BOARD_PACK_STATIC = ("css/board_pack.css", "js/board_pack.js", "vendor/plotly/plotly.min.js")
# The code that builds it: these packages' modules (the review's numbers, charts, pdf).
BOARD_PACK_PACKAGES = ("planning", "valuestreams", "sofp")
# Libraries whose version changes what the charts print.
BOARD_PACK_LIBRARIES = ("Django", "plotly")


def board_pack_renderer_sources() -> list[Path]:
    """Every file that renders the pack: its template (as the loaders find it now), the
    static files it links and the Python modules of the apps (migrations left out)."""
    from django.contrib.staticfiles import finders
    from django.template.loader import get_template

    template = Path(get_template(BOARD_PACK_TEMPLATE).origin.name)
    statics = [Path(p) for p in (finders.find(name) for name in BOARD_PACK_STATIC) if p]
    root = Path(__file__).resolve().parents[2]
    modules = sorted(
        path
        for package in BOARD_PACK_PACKAGES
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts
    )
    return [template, *statics, *modules]


def files_digest(paths: Iterable[Path], extra: Iterable[str] = ()) -> str:
    """SHA-256 over each file's name and bytes (a missing file counts as empty) and
    ``extra`` texts: equal digests, equal files."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"missing")
    for text in extra:
        digest.update(text.encode() + b"\0")
    return digest.hexdigest()


@functools.cache
def board_pack_renderer_digest() -> str:
    """A digest of what renders the pack — template, static files, the apps' modules,
    the chart libraries' versions — computed once per process (a few milliseconds):
    a deploy changes it, so an open cycle's cached pack is never one the old code
    printed (the cache key holds it beside the data's fingerprint)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return f"{name}=={version(name)}"
        except PackageNotFoundError:
            return f"{name} missing"

    return files_digest(
        board_pack_renderer_sources(), [installed(n) for n in BOARD_PACK_LIBRARIES]
    )[:16]
