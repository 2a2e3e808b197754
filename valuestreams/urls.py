from django.urls import path

from planning import views_dashboard

urlpatterns = [
    path("value-streams/", views_dashboard.value_stream_list, name="value_stream_list"),
    path(
        "value-streams/<str:code>/",
        views_dashboard.value_stream_dashboard,
        name="value_stream_dashboard",
    ),
]
