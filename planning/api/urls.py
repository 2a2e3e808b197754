"""``/api/v1/`` routes of the planning app (cycles, plan values, actuals, projections)."""

from django.urls import path

from planning.api import views

app_name = "planning_api"

urlpatterns = [
    path("cycles/", views.CycleListView.as_view(), name="cycle-list"),
    path("cycles/<month:month>/", views.CycleDetailView.as_view(), name="cycle-detail"),
    path("cycles/<month:month>/approve/", views.CycleApproveView.as_view(), name="cycle-approve"),
    path(
        "cycles/<month:month>/plan-values/",
        views.PlanValueListView.as_view(),
        name="plan-value-list",
    ),
    path(
        "cycles/<month:month>/plan-values/bulk/",
        views.PlanValueBulkView.as_view(),
        name="plan-value-bulk",
    ),
    path("cycles/<month:month>/actuals/", views.ActualsView.as_view(), name="actuals"),
    path(
        "cycles/<month:month>/projections/families/",
        views.FamilyProjectionView.as_view(),
        name="projection-families",
    ),
    path(
        "cycles/<month:month>/projections/streams/",
        views.StreamProjectionView.as_view(),
        name="projection-streams",
    ),
    path(
        "cycles/<month:month>/projections/company/",
        views.CompanyProjectionView.as_view(),
        name="projection-company",
    ),
    path("cycles/<month:month>/box-score/", views.BoxScoreView.as_view(), name="box-score"),
    path("cycles/<month:month>/exceptions/", views.ExceptionsView.as_view(), name="exceptions"),
    path("cycles/<month:month>/accuracy/", views.AccuracyView.as_view(), name="accuracy"),
    path("cycles/<month:month>/export/", views.ExportView.as_view(), name="export"),
]
