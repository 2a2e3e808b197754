"""Top-level URLs: pages, auth, admin, and (later) the API and health checks."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from planning.converters import MonthConverter
from sofp import health

register_converter(MonthConverter, "month")

handler500 = "sofp.errors.server_error"

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("sofp.api_urls")),
    path("", include("planning.urls")),
]
