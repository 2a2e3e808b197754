"""Every page and JSON endpoint of the planning app, one block per area.

The same area has the same name in every layer: ``views/grid.py`` serves the grid block,
``selectors/grid.py`` and ``services/grid.py`` do its reading and writing.
"""

from django.urls import URLPattern, path

from planning.views import (
    actuals,
    assumptions,
    baseline,
    board_pack,
    cycles,
    dashboards,
    files,
    grid,
    home,
    launches,
    prices,
    scenarios,
)

CYCLE = "cycles/<month:month>/"
GRID = CYCLE + "grid/<str:vs_code>/"
COMPANY = CYCLE + "company/"


def grid_endpoints(prefix: str, name: str) -> list[URLPattern]:
    """The JSON endpoints a grid page calls (``<name>-data``, ``-save``, ``-history``,
    ``-comment``, ``-live``): the same views serve a stream's grid and the company's."""
    views = {
        "data": grid.grid_data_view,
        "save": grid.grid_save_view,
        "history": grid.grid_history_view,
        "comment": grid.grid_comment_view,
        "live": grid.grid_live_view,
    }
    return [path(f"{prefix}{end}/", view, name=f"{name}-{end}") for end, view in views.items()]


urlpatterns = [
    # --- home
    path("", home.home, name="home"),
    # --- cycles: the five steps, decisions and notifications
    path("cycles/", cycles.cycle_list, name="cycle_list"),
    path("cycles/start/", cycles.cycle_start_view, name="cycle_start"),
    path(CYCLE, cycles.cycle_detail, name="cycle_detail"),
    path(CYCLE + "steps/<int:number>/status/", cycles.step_status_view, name="cycle_step_status"),
    path(
        CYCLE + "steps/<int:number>/minutes/",
        cycles.step_minutes_view,
        name="cycle_step_minutes",
    ),
    path(CYCLE + "approve/", cycles.cycle_approve_view, name="cycle_approve"),
    path(
        CYCLE + "exceptions/acknowledge/",
        cycles.exception_acknowledge_view,
        name="cycle_exception_acknowledge",
    ),
    path(CYCLE + "decisions/", cycles.decision_create_view, name="cycle_decision_create"),
    path("decisions/", cycles.decisions_log_view, name="decisions_log"),
    path("decisions/<int:pk>/", cycles.decision_update_view, name="decision_update"),
    path("notifications/", cycles.notifications_view, name="notifications"),
    path("notifications/read/", cycles.notifications_read_view, name="notifications_read"),
    path(
        "notifications/deliveries/",
        cycles.reminder_deliveries_view,
        name="reminder_deliveries",
    ),
    # --- grid: the pages and their JSON endpoints, per value stream and for the company
    path(GRID, grid.grid_page, name="grid"),
    *grid_endpoints(GRID, "grid"),
    path(GRID + "use-baseline/", grid.grid_use_baseline_view, name="grid-use-baseline"),
    path(GRID + "assumptions/", assumptions.grid_assumptions_view, name="grid-assumptions"),
    path(CYCLE + "demand/<str:vs_code>/", grid.demand_page, name="demand"),
    path(CYCLE + "demand/<str:vs_code>/data/", grid.demand_data_view, name="demand-data"),
    path(COMPANY, grid.company_page, name="company-grid"),
    *grid_endpoints(COMPANY, "company-grid"),
    # --- files: plan upload (preview, confirm) and download
    path(CYCLE + "upload/", files.plan_upload, name="plan_upload"),
    path(CYCLE + "download/", files.plan_download, name="plan_download"),
    # --- the statistical baseline: what it came from, compute, progress, cancel
    path(CYCLE + "baseline/", baseline.baseline_page, name="baseline"),
    path(CYCLE + "baseline/compute/", baseline.baseline_request_view, name="baseline-compute"),
    path(CYCLE + "baseline/cancel/", baseline.baseline_cancel_view, name="baseline-cancel"),
    path(CYCLE + "baseline/status/", baseline.baseline_status_view, name="baseline-status"),
    # --- dashboards: value streams and the step-5 review
    path("value-streams/", dashboards.value_stream_list, name="value_stream_list"),
    path(
        "value-streams/<str:code>/",
        dashboards.value_stream_dashboard,
        name="value_stream_dashboard",
    ),
    path("value-streams/<str:code>/month-close/", actuals.month_close_view, name="month_close"),
    path("results/", actuals.sofp_results_view, name="sofp_results"),
    path("box-score/download/", actuals.box_score_download, name="box_score_download"),
    path("review/", dashboards.review, name="review"),
    path(CYCLE + "review/", dashboards.review, name="cycle_review"),
    path(CYCLE + "reconcile/", dashboards.reconcile, name="reconcile"),
    # --- assumptions: the cycle's register (page, CSV)
    path(CYCLE + "assumptions/", assumptions.assumptions_page, name="assumptions"),
    path(CYCLE + "assumptions.csv", assumptions.assumptions_csv, name="assumptions_csv"),
    path(
        CYCLE + "assumptions/import/",
        assumptions.assumptions_import_view,
        name="assumptions_import",
    ),
    path(
        CYCLE + "assumptions/<int:pk>/",
        assumptions.assumption_detail,
        name="assumption_detail",
    ),
    path(
        CYCLE + "assumptions/<int:pk>/status/",
        assumptions.assumption_status_view,
        name="assumption_status",
    ),
    # --- scenarios: create, compare, adopt, delete (edited in the grid with ?scenario=)
    path(CYCLE + "scenarios/", scenarios.scenarios_page, name="scenarios"),
    path(
        CYCLE + "scenarios/<str:name>/adopt/",
        scenarios.scenario_adopt_view,
        name="scenario_adopt",
    ),
    path(
        CYCLE + "scenarios/<str:name>/delete/",
        scenarios.scenario_delete_view,
        name="scenario_delete",
    ),
    # --- the step-5 board pack (PDF): current, print preview, archived copies
    path(CYCLE + "board-pack/", board_pack.board_pack_download, name="board_pack"),
    path(CYCLE + "board-pack/preview/", board_pack.board_pack_preview, name="board_pack_preview"),
    path(
        CYCLE + "board-packs/<int:pk>/",
        board_pack.board_pack_archived,
        name="board_pack_archived",
    ),
    # --- step 4: the cycle's prices and costs
    path(CYCLE + "prices/", prices.cycle_prices_view, name="cycle_prices"),
    # --- NPD launches: the register of a cycle
    path(CYCLE + "launches/", launches.launches_page, name="launches"),
    path(CYCLE + "launches/download/", launches.launches_download, name="launches_download"),
    path(
        CYCLE + "launches/<int:launch_id>/",
        launches.launch_update_view,
        name="launch_update",
    ),
    path(GRID + "use-ramp/", grid.grid_use_ramp_view, name="grid-use-ramp"),
    # --- last: any other cycle address says which cycles exist (the friendly 404)
    path("cycles/<str:label>/", cycles.cycle_address_unknown),
    path("cycles/<str:label>/<path:rest>", cycles.cycle_address_unknown),
]
