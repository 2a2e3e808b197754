"""``/api/v1/`` routes of the planning app (cycles, plan values, actuals, projections)."""

from django.urls import path

from planning.api import views, workflow

app_name = "planning_api"

CYCLE = "cycles/<month:month>/"
# (address below the cycle, view, name)
CYCLE_ROUTES = (
    ("", views.CycleDetailView, "cycle-detail"),
    ("approve/", views.CycleApproveView, "cycle-approve"),
    ("plan-values/", views.PlanValueListView, "plan-value-list"),
    ("plan-values/bulk/", views.PlanValueBulkView, "plan-value-bulk"),
    ("plan-values/comment/", workflow.CommentView, "plan-value-comment"),
    ("decisions/", workflow.DecisionCreateView, "decision-create"),
    ("decisions/<int:decision_id>/", workflow.DecisionUpdateView, "decision-update"),
    ("steps/<int:number>/", workflow.StepUpdateView, "step-update"),
    ("actuals/", views.ActualsView, "actuals"),
    ("projections/families/", views.FamilyProjectionView, "projection-families"),
    ("projections/streams/", views.StreamProjectionView, "projection-streams"),
    ("projections/company/", views.CompanyProjectionView, "projection-company"),
    ("box-score/", views.BoxScoreView, "box-score"),
    ("exceptions/", views.ExceptionsView, "exceptions"),
    ("accuracy/", views.AccuracyView, "accuracy"),
    ("export/", views.ExportView, "export"),
)

urlpatterns = [
    path("cycles/", views.CycleListView.as_view(), name="cycle-list"),
    path("cycles/start/", workflow.CycleStartView.as_view(), name="cycle-start"),
    *(path(CYCLE + route, view.as_view(), name=name) for route, view, name in CYCLE_ROUTES),
]
