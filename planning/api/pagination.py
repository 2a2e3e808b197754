"""Page-number pagination for API lists: ``?page=`` and ``?page_size=`` (max 5000)."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 5000
