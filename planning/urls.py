from django.urls import include, path

from planning import views

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("planning.urls_cycle")),
    path("", include("planning.urls_grid")),
    path("", include("planning.urls_files")),
    path("", include("planning.urls_dashboard")),
]
