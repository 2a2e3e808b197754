"""``/api/v1/`` routes of the planning app (cycles, plan values, actuals, projections)."""

from django.urls import path

from planning.api import actuals, assumptions, board_pack, launches, scenarios, views, workflow

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
    ("fva/", views.FvaView, "fva"),
    ("baseline/", views.BaselineView, "baseline"),
    ("assumptions/", assumptions.AssumptionListView, "assumption-list"),
    ("assumptions/<int:assumption_id>/", assumptions.AssumptionDetailView, "assumption-detail"),
    ("scenarios/", scenarios.ScenarioListView, "scenario-list"),
    ("scenarios/compare/", scenarios.ScenarioCompareView, "scenario-compare"),
    ("scenarios/<str:name>/", scenarios.ScenarioDetailView, "scenario-detail"),
    ("scenarios/<str:name>/adopt/", scenarios.ScenarioAdoptView, "scenario-adopt"),
    ("scenarios/<str:name>/prices/", scenarios.ScenarioPricesView, "scenario-prices"),
    ("launches/", launches.LaunchListView, "launch-list"),
    ("launches/<int:launch_id>/", launches.LaunchDetailView, "launch-detail"),
    ("board-pack/", board_pack.BoardPackView, "board-pack"),
    ("board-packs/", board_pack.BoardPackListView, "board-pack-list"),
)

urlpatterns = [
    path("cycles/", views.CycleListView.as_view(), name="cycle-list"),
    path("cycles/start/", workflow.CycleStartView.as_view(), name="cycle-start"),
    path("actuals/", actuals.ActualListView.as_view(), name="actual-list"),
    path("actuals/bulk/", actuals.ActualBulkView.as_view(), name="actual-bulk"),
    path("box-score/", actuals.ClosedBoxScoreView.as_view(), name="closed-box-score"),
    *(path(CYCLE + route, view.as_view(), name=name) for route, view, name in CYCLE_ROUTES),
]
