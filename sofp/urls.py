"""The root URLconf: health checks, auth, admin, the API and the apps' pages.

It is the composition root: it names the apps' URL modules by their dotted paths
(``include("planning.urls")``) and imports nothing from them.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from sofp import health


class MonthConverter:
    """A cycle's month, written ``YYYY-MM`` in every address (``<month:month>``)."""

    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return value if isinstance(value, str) else value.strftime("%Y-%m")


register_converter(MonthConverter, "month")

handler400 = "sofp.errors.bad_request"
handler403 = "sofp.errors.permission_denied"
handler404 = "sofp.errors.page_not_found"
handler500 = "sofp.errors.server_error"

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Users change their own password (their API tokens stop working: sofp/auth.py).
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(success_url="/accounts/password/done/"),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("planning.api.urls")),
    path("api/v1/", include("valuestreams.api.urls")),
    path("api/v1/", include("sofp.api.urls")),  # schema, docs, JSON 404 for the rest
    path("", include("planning.urls")),
]
