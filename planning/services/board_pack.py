"""Building, archiving and handing out the step-5 board pack (a PDF).

:func:`board_pack_render` prints the pack's page (``planning/board_pack.html``, the
review's numbers for the whole company) through :func:`sofp.pdf.html_to_pdf`.
:func:`board_pack_archive` keeps one pack per cycle and kind for good — the *pre-read*
when the step-5 reminder goes out 24 h before the meeting, the *approved* one at
approval — with the SHA-256 of its bytes; asking again returns the same row (idempotent:
retried tasks, two workers, a reminder per recipient). :func:`board_pack_for_reader`
answers the button, the API and the command: the archived approved pack of a frozen
cycle, else the plan as it stands — printed once per state of what the pack shows
(:func:`board_pack_render_cached`, keyed by a one-query fingerprint).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from planning.models import BoardPack, PlanningCycle
from planning.selectors.board_pack import (
    board_pack_context,
    board_pack_fingerprint,
    board_pack_renderer_digest,
    user_may_read_board_pack,
)
from sofp.errors import ApplicationError, PermissionDenied
from sofp.pdf import html_to_pdf

logger = logging.getLogger(__name__)


class BoardPackNotApproved(ApplicationError):
    status = 409
    code = "not_approved"
    title = "The plan is not approved yet"


@dataclass(frozen=True)
class RenderedPack:
    data: bytes
    pages: int
    sha256: str
    filename: str
    archived: BoardPack | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def board_pack_filename(cycle: PlanningCycle, kind: str = "") -> str:
    suffix = {"pre_read": "-pre-read", "approved": "-approved"}.get(kind, "")
    return f"sofp-board-pack-{cycle.label}{suffix}.pdf"


def board_pack_html(cycle: PlanningCycle, *, built_at=None) -> str:
    """The page Chromium prints (also served as the print preview)."""
    context = board_pack_context(cycle, built_at=built_at or timezone.now())
    return render_to_string("planning/board_pack.html", context)


def board_pack_render(cycle: PlanningCycle) -> RenderedPack:
    """Print the pack of ``cycle`` as it stands now (nothing is stored)."""
    page = board_pack_html(cycle)
    pdf = html_to_pdf(page, footer=f"SOFP board pack · cycle {cycle.label}")
    return RenderedPack(
        data=pdf.data,
        pages=pdf.pages,
        sha256=hashlib.sha256(pdf.data).hexdigest(),
        filename=board_pack_filename(cycle),
    )


def board_pack_archive(*, cycle: PlanningCycle, kind: str, user=None) -> BoardPack:
    """The archived pack of ``cycle`` and ``kind``, printed and stored on first asking.

    The approved pack needs an approved cycle; a pre-read of a cycle approved meanwhile is
    not made (the approved pack supersedes it).
    """
    if kind not in BoardPack.Kind.values:
        raise ApplicationError(f"Unknown board pack kind {kind!r}.", code="invalid")
    found = BoardPack.objects.filter(cycle=cycle, kind=kind).first()
    if found is not None:
        return found
    cycle.refresh_from_db(fields=["status", "approved_at", "approved_by"])
    if kind == BoardPack.Kind.APPROVED and not cycle.is_frozen:
        raise BoardPackNotApproved(
            f"Cycle {cycle.label} is not approved, so there is no approved board pack yet."
        )
    if kind == BoardPack.Kind.PRE_READ and cycle.is_frozen:
        raise ApplicationError(
            f"Cycle {cycle.label} is already approved; its approved board pack replaces "
            "the pre-read.",
            status=409,
            code="already_approved",
        )
    rendered = board_pack_render(cycle)
    try:
        with transaction.atomic():
            return BoardPack.objects.create(
                cycle=cycle,
                kind=kind,
                pdf=rendered.data,
                sha256=rendered.sha256,
                size=rendered.size,
                pages=rendered.pages,
                cycle_status=cycle.status,
                created_by=user if user is not None and user.is_authenticated else None,
            )
    except IntegrityError:  # someone archived it while we printed: theirs stands
        return BoardPack.objects.get(cycle=cycle, kind=kind)


def board_pack_pre_read(cycle: PlanningCycle) -> BoardPack | None:
    """The pre-read for the step-5 reminder, or None (logged) when it cannot be built:
    the reminder still goes out, with the link."""
    try:
        return board_pack_archive(cycle=cycle, kind=BoardPack.Kind.PRE_READ)
    except ApplicationError as exc:
        logger.warning("board pack pre-read of %s not built: %s", cycle.label, exc.message)
        return None


def board_pack_attachable(pack: BoardPack | None) -> bool:
    return pack is not None and pack.size <= settings.SOFP_BOARD_PACK_ATTACH_MAX_BYTES


def board_pack_for_reader(*, cycle: PlanningCycle, user) -> RenderedPack:
    """What the button, the API and readers get: the archived pack of an approved cycle
    (archived now if the approval's task has not run), else a fresh print."""
    if not user_may_read_board_pack(user):
        raise PermissionDenied(
            "The board pack shows the company and every value stream; only those who read "
            "every value stream may have it."
        )
    if cycle.is_frozen:
        pack = board_pack_archive(cycle=cycle, kind=BoardPack.Kind.APPROVED, user=user)
        return board_pack_stored(pack)
    return board_pack_render_cached(cycle)


# An open cycle's pack, kept while nothing it is built from changes (a day at most).
PACK_CACHE_SECONDS = 24 * 3600


PACK_GENERATION_KEY = "sofp:board-pack:generation"


def board_pack_cache_key(cycle: PlanningCycle) -> str:
    """The data's fingerprint and a digest of the code and template that print it (a
    deploy prints afresh instead of handing out the old code's PDF for a day)."""
    generation = cache.get_or_set(PACK_GENERATION_KEY, lambda: uuid.uuid4().hex, None)
    renderer = board_pack_renderer_digest()
    return f"sofp:board-pack:{generation}:{renderer}:{cycle.pk}:{board_pack_fingerprint(cycle)}"


def board_pack_cache_forget() -> None:
    """Drop every cached open-cycle pack at once (a new template after a deploy, tests):
    a new generation makes the old keys unreachable; they expire on their own."""
    cache.delete(PACK_GENERATION_KEY)


def board_pack_render_cached(cycle: PlanningCycle) -> RenderedPack:
    """The pack of an open cycle, printed once per state of what it shows: a second
    click with nothing changed gets the same bytes without printing again (one query
    for the fingerprint, :func:`planning.selectors.board_pack.board_pack_fingerprint`);
    any change to the plan, scenarios, master copy, decisions, assumptions,
    acknowledgements, steps, actuals or launches prints afresh. Frozen cycles use the
    archive instead (:func:`board_pack_for_reader`)."""
    key = board_pack_cache_key(cycle)
    hit = cache.get(key)
    if hit is not None:
        data, pages = hit
        return RenderedPack(
            data=data,
            pages=pages,
            sha256=hashlib.sha256(data).hexdigest(),
            filename=board_pack_filename(cycle),
        )
    rendered = board_pack_render(cycle)
    cache.set(key, (rendered.data, rendered.pages), PACK_CACHE_SECONDS)
    return rendered


def board_pack_stored(pack: BoardPack) -> RenderedPack:
    data = bytes(pack.pdf)
    return RenderedPack(
        data=data,
        pages=pack.pages,
        sha256=pack.sha256,
        filename=board_pack_filename(pack.cycle, pack.kind),
        archived=pack,
    )
