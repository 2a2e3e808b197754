"""OpenAPI hook of the planning API: the bulk bodies' row limit, stated in the schema."""

from __future__ import annotations

from typing import Any

from planning.api.views import MAX_BULK_ROWS


def bulk_limits(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Array bodies (bulk upsert, actuals) take at most ``MAX_BULK_ROWS`` rows, as the
    server enforces (``max_length`` of the list serializer)."""
    for path, item in result.get("paths", {}).items():
        operation = item.get("post")
        if not operation or not path.endswith(("/plan-values/bulk/", "/actuals/")):
            continue
        for media in operation.get("requestBody", {}).get("content", {}).values():
            schema = media.get("schema", {})
            if schema.get("type") == "array":
                schema["maxItems"] = MAX_BULK_ROWS
    return result
