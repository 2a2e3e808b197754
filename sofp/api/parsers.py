"""The API's JSON parser: the same rules as the grid's JSON endpoints.

DRF's own parser lets a deeply nested body escape as a ``RecursionError`` (a 500) and
accepts UTF-16; this one reads the body through :func:`sofp.errors.json_parse`, within
the upload limit, so a bad body is a 400 or 413 problem, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser as DRFJSONParser

from sofp.errors import PayloadTooLarge, json_parse


class JSONParser(DRFJSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context=None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(data) > limit:
            raise PayloadTooLarge()
        return json_parse(data)
