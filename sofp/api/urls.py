"""``/api/v1/`` machinery: the OpenAPI schema, its docs and the JSON 404 for the rest.

The apps' own routes are included beside these by the root URLconf (``sofp/urls.py``),
before this catch-all.
"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from sofp.api.views import ApiIndexView, NotFoundView

urlpatterns = [
    path("", ApiIndexView.as_view(), name="api-index"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    # Anything else under /api/v1/ is a JSON 404, not the HTML error page.
    re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="api-not-found"),
]
