"""Page-number pagination for API lists: ``?page=`` and ``?page_size=`` (max 5000)."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination

from sofp.errors import Problem, ValidationFailed


class ApiPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 5000

    def get_page_size(self, request) -> int:
        """``page_size`` as the schema states it: an integer from 1 to 5000; anything
        else is a 400 (not silently the default)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            message = f"page_size must be a whole number from 1 to {self.max_page_size}"
            raise ValidationFailed(
                message, problems=[Problem("invalid", message, field="page_size")]
            )
        return int(raw)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        envelope = super().get_paginated_response_schema(schema)
        props = envelope["properties"]
        props["count"]["description"] = "Rows matching the filters, on all pages."
        props["next"]["description"] = "URL of the next page, null on the last."
        props["previous"]["description"] = "URL of the previous page, null on the first."
        props["results"]["description"] = "The rows of this page."
        return envelope

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """The page size's limits, stated in the schema as the server applies them."""
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"].update({"minimum": 1, "maximum": self.max_page_size})
            elif param["name"] == self.page_query_param:
                param["schema"].update({"minimum": 1})
        return params
