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


def conditional_get(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every API read sends an ``ETag`` and answers ``If-None-Match`` with 304
    (``sofp.api.views.etag_response``): say so for every GET operation."""
    for path, item in result.get("paths", {}).items():
        operation = item.get("get")
        if not operation or path.endswith(("/schema/", "/docs/")):
            continue
        params = operation.setdefault("parameters", [])
        if not any(p.get("name") == "If-None-Match" for p in params):
            params.append(
                {
                    "in": "header",
                    "name": "If-None-Match",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The ETag you hold: 304 when nothing changed.",
                }
            )
        ok = operation.get("responses", {}).get("200")
        if isinstance(ok, dict):
            ok.setdefault("headers", {})["ETag"] = {
                "schema": {"type": "string"},
                "description": "Send it back in If-None-Match to poll cheaply.",
            }
        responses = operation.setdefault("responses", {})
        if any(p.get("name") == "page_size" for p in params) and "400" not in responses:
            # A bad page or page_size is a 400 (sofp.api.pagination), like any bad input.
            template = responses.get("401") or responses.get("404")
            if isinstance(template, dict):
                responses["400"] = {**template, "description": "Bad input (e.g. page_size)."}
        responses["304"] = {
            "description": "Not modified: what you hold (If-None-Match) is current.",
            "headers": {"ETag": {"schema": {"type": "string"}}},
        }
    return result
