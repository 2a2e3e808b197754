"""The step-5 board pack in the API: the PDF, and the list of archived packs.

``GET /api/v1/cycles/YYYY-MM/board-pack/`` answers ``application/pdf`` (the archived
approved pack once the cycle is approved, else a print of the plan as it stands);
``GET /api/v1/cycles/YYYY-MM/board-packs/`` lists the archived packs with their SHA-256.
Errors are problem JSON: 403 for those who do not read every stream, 503 when the
server has no Chromium.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from planning.api.views import CYCLE_PARAM, CycleMixin
from planning.selectors.board_pack import board_packs_of, user_may_read_board_pack
from planning.services.board_pack import board_pack_for_reader
from planning.views.board_pack import pdf_response
from sofp.api.views import E400, JSON_RENDERERS, READ_ERRORS, ApiView, error_response
from sofp.errors import PermissionDenied

E503 = error_response("The server has no PDF renderer (Chromium), or printing failed.")


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else b""


class BoardPackSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The archived pack's id.")
    kind = serializers.CharField(help_text="pre_read or approved")
    created_at = serializers.DateTimeField(help_text="When it was printed and archived.")
    cycle_status = serializers.CharField(help_text="The cycle's status when it was built.")
    pages = serializers.IntegerField(help_text="Pages of the PDF.")
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField(help_text="SHA-256 of the PDF's bytes, hex.")
    url = serializers.CharField(help_text="Where the PDF is downloaded (browser session).")


@extend_schema(
    tags=["cycles"],
    parameters=[CYCLE_PARAM],
    responses={
        (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "The board pack."),
        400: E400,
        **READ_ERRORS,
        503: E503,
    },
)
class BoardPackView(CycleMixin, ApiView):
    """The step-5 board pack as a PDF (A4 landscape, "page N of M"). Headers:
    ``X-Content-SHA256``, ``X-Page-Count``."""

    renderer_classes = [PDFRenderer, *JSON_RENDERERS]

    def get(self, request: Request, month: str):
        return pdf_response(board_pack_for_reader(cycle=self.get_cycle(), user=request.user))


@extend_schema(
    tags=["cycles"],
    parameters=[CYCLE_PARAM],
    responses={200: BoardPackSerializer(many=True), **READ_ERRORS},
)
class BoardPackListView(CycleMixin, ApiView):
    """The cycle's archived board packs (pre-read, approved) with their SHA-256."""

    def get(self, request: Request, month: str) -> Response:
        cycle = self.get_cycle()
        if not user_may_read_board_pack(request.user):
            raise PermissionDenied("Only those who read every value stream see board packs.")
        rows = [
            {
                "id": p.pk,
                "kind": p.kind,
                "created_at": p.created_at,
                "cycle_status": p.cycle_status,
                "pages": p.pages,
                "size": p.size,
                "sha256": p.sha256,
                "url": reverse("board_pack_archived", args=[cycle.label, p.pk]),
            }
            for p in board_packs_of(cycle)
        ]
        return Response(BoardPackSerializer(rows, many=True).data)
