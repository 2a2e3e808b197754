"""``/api/v1/``: the planning and master-data APIs, the OpenAPI schema and its docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from planning.api.views import NotFoundView

urlpatterns = [
    path("", include("planning.api.urls")),
    path("", include("valuestreams.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    # Anything else under /api/v1/ is a JSON 404, not the HTML error page.
    re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="api-not-found"),
]
