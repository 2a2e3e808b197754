"""URLs of the five-step cycle, decisions and notifications (issue 5)."""

from django.urls import path

from planning import views_cycle as v

urlpatterns = [
    path("cycles/", v.cycle_list, name="cycle_list"),
    path("cycles/start/", v.cycle_start_view, name="cycle_start"),
    path("cycles/<month:month>/", v.cycle_detail, name="cycle_detail"),
    path(
        "cycles/<month:month>/steps/<int:number>/status/",
        v.step_status_view,
        name="cycle_step_status",
    ),
    path(
        "cycles/<month:month>/steps/<int:number>/minutes/",
        v.step_minutes_view,
        name="cycle_step_minutes",
    ),
    path("cycles/<month:month>/approve/", v.cycle_approve_view, name="cycle_approve"),
    path("cycles/<month:month>/decisions/", v.decision_create_view, name="cycle_decision_create"),
    path("decisions/", v.decisions_log_view, name="decisions_log"),
    path("decisions/<int:pk>/", v.decision_update_view, name="decision_update"),
    path("notifications/", v.notifications_view, name="notifications"),
    path("notifications/read/", v.notifications_read_view, name="notifications_read"),
    path("notifications/deliveries/", v.reminder_deliveries_view, name="reminder_deliveries"),
]
