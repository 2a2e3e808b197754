"""The step-5 board pack for people: the PDF, its print preview and archived copies.

Thin: the service decides (rights, archive or fresh print); an ApplicationError — not
allowed, no renderer on this server — reaches ``sofp.errors.ApplicationErrorMiddleware``
and is shown as a page with its message (problem JSON to JSON clients), never a 500.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from planning.models import BoardPack
from planning.selectors.board_pack import user_may_read_board_pack
from planning.selectors.plans import cycle_or_404
from planning.services.board_pack import (
    RenderedPack,
    board_pack_for_reader,
    board_pack_html,
    board_pack_stored,
)
from sofp.errors import PermissionDenied


def pdf_response(pack: RenderedPack) -> HttpResponse:
    response = HttpResponse(pack.data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
    response["X-Content-SHA256"] = pack.sha256
    response["X-Page-Count"] = str(pack.pages)
    response["Cache-Control"] = "private, no-store"
    return response


def _refuse_unless_reader(request: HttpRequest) -> None:
    if not user_may_read_board_pack(request.user):
        raise PermissionDenied(
            "The board pack shows the company and every value stream; only those who read "
            "every value stream may have it."
        )


@login_required
def board_pack_download(request: HttpRequest, month: str) -> HttpResponse:
    """The pack of a cycle: archived once approved, else printed now."""
    return pdf_response(board_pack_for_reader(cycle=cycle_or_404(month), user=request.user))


@login_required
def board_pack_preview(request: HttpRequest, month: str) -> HttpResponse:
    """The page Chromium prints, as HTML (to look at, and for the layout tests)."""
    cycle = cycle_or_404(month)
    _refuse_unless_reader(request)
    return HttpResponse(board_pack_html(cycle))


@login_required
def board_pack_archived(request: HttpRequest, month: str, pk: int) -> HttpResponse:
    """One archived pack, byte for byte as it was stored."""
    cycle = cycle_or_404(month)
    _refuse_unless_reader(request)
    pack = get_object_or_404(BoardPack.objects.select_related("cycle"), pk=pk, cycle=cycle)
    return pdf_response(board_pack_stored(pack))
