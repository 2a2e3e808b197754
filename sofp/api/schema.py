"""OpenAPI schema hook: error answers are documented as ``application/problem+json``,
the content type the one mapper (:mod:`sofp.errors`) sends them with."""

from __future__ import annotations

from typing import Any

from sofp.errors import PROBLEM_CONTENT_TYPE


def problem_json_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Move every 4xx/5xx response's JSON body to the problem content type."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") if isinstance(response, dict) else None
                if str(status)[:1] in "45" and content and "application/json" in content:
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
    return result
