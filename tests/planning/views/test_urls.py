"""Every page and endpoint of the planning app keeps its address, name and view: the
table was taken from planning/urls.py before its repeated blocks were folded into
helpers, so a change there that moves, renames or rewires an address fails here."""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse

ADDRESSES = [
    ("/", "home", "home.home"),
    ("/cycles/", "cycle_list", "cycles.cycle_list"),
    ("/cycles/start/", "cycle_start", "cycles.cycle_start_view"),
    ("/cycles/2027-01/", "cycle_detail", "cycles.cycle_detail"),
    ("/cycles/2027-01/steps/2/status/", "cycle_step_status", "cycles.step_status_view"),
    ("/cycles/2027-01/steps/2/minutes/", "cycle_step_minutes", "cycles.step_minutes_view"),
    ("/cycles/2027-01/approve/", "cycle_approve", "cycles.cycle_approve_view"),
    (
        "/cycles/2027-01/exceptions/acknowledge/",
        "cycle_exception_acknowledge",
        "cycles.exception_acknowledge_view",
    ),
    ("/cycles/2027-01/decisions/", "cycle_decision_create", "cycles.decision_create_view"),
    ("/decisions/", "decisions_log", "cycles.decisions_log_view"),
    ("/decisions/7/", "decision_update", "cycles.decision_update_view"),
    ("/notifications/", "notifications", "cycles.notifications_view"),
    ("/notifications/read/", "notifications_read", "cycles.notifications_read_view"),
    ("/notifications/deliveries/", "reminder_deliveries", "cycles.reminder_deliveries_view"),
    ("/cycles/2027-01/grid/PUMPS/", "grid", "grid.grid_page"),
    ("/cycles/2027-01/grid/PUMPS/data/", "grid-data", "grid.grid_data_view"),
    ("/cycles/2027-01/grid/PUMPS/save/", "grid-save", "grid.grid_save_view"),
    ("/cycles/2027-01/grid/PUMPS/history/", "grid-history", "grid.grid_history_view"),
    ("/cycles/2027-01/grid/PUMPS/comment/", "grid-comment", "grid.grid_comment_view"),
    (
        "/cycles/2027-01/grid/PUMPS/use-baseline/",
        "grid-use-baseline",
        "grid.grid_use_baseline_view",
    ),
    ("/cycles/2027-01/grid/PUMPS/live/", "grid-live", "grid.grid_live_view"),
    (
        "/cycles/2027-01/grid/PUMPS/assumptions/",
        "grid-assumptions",
        "assumptions.grid_assumptions_view",
    ),
    ("/cycles/2027-01/demand/PUMPS/", "demand", "grid.demand_page"),
    ("/cycles/2027-01/demand/PUMPS/data/", "demand-data", "grid.demand_data_view"),
    ("/cycles/2027-01/company/", "company-grid", "grid.company_page"),
    ("/cycles/2027-01/company/data/", "company-grid-data", "grid.grid_data_view"),
    ("/cycles/2027-01/company/save/", "company-grid-save", "grid.grid_save_view"),
    ("/cycles/2027-01/company/history/", "company-grid-history", "grid.grid_history_view"),
    ("/cycles/2027-01/company/comment/", "company-grid-comment", "grid.grid_comment_view"),
    ("/cycles/2027-01/company/live/", "company-grid-live", "grid.grid_live_view"),
    ("/cycles/2027-01/upload/", "plan_upload", "files.plan_upload"),
    ("/cycles/2027-01/download/", "plan_download", "files.plan_download"),
    ("/cycles/2027-01/baseline/", "baseline", "baseline.baseline_page"),
    ("/cycles/2027-01/baseline/compute/", "baseline-compute", "baseline.baseline_request_view"),
    ("/cycles/2027-01/baseline/cancel/", "baseline-cancel", "baseline.baseline_cancel_view"),
    ("/cycles/2027-01/baseline/status/", "baseline-status", "baseline.baseline_status_view"),
    ("/value-streams/", "value_stream_list", "dashboards.value_stream_list"),
    ("/value-streams/PUMPS/", "value_stream_dashboard", "dashboards.value_stream_dashboard"),
    ("/value-streams/PUMPS/month-close/", "month_close", "actuals.month_close_view"),
    ("/results/", "sofp_results", "actuals.sofp_results_view"),
    ("/box-score/download/", "box_score_download", "actuals.box_score_download"),
    ("/review/", "review", "dashboards.review"),
    ("/cycles/2027-01/review/", "cycle_review", "dashboards.review"),
    ("/cycles/2027-01/reconcile/", "reconcile", "dashboards.reconcile"),
    ("/cycles/2027-01/assumptions/", "assumptions", "assumptions.assumptions_page"),
    ("/cycles/2027-01/assumptions.csv", "assumptions_csv", "assumptions.assumptions_csv"),
    (
        "/cycles/2027-01/assumptions/import/",
        "assumptions_import",
        "assumptions.assumptions_import_view",
    ),
    ("/cycles/2027-01/assumptions/7/", "assumption_detail", "assumptions.assumption_detail"),
    (
        "/cycles/2027-01/assumptions/7/status/",
        "assumption_status",
        "assumptions.assumption_status_view",
    ),
    ("/cycles/2027-01/scenarios/", "scenarios", "scenarios.scenarios_page"),
    ("/cycles/2027-01/scenarios/best/adopt/", "scenario_adopt", "scenarios.scenario_adopt_view"),
    ("/cycles/2027-01/scenarios/best/delete/", "scenario_delete", "scenarios.scenario_delete_view"),
    ("/cycles/2027-01/board-pack/", "board_pack", "board_pack.board_pack_download"),
    ("/cycles/2027-01/board-pack/preview/", "board_pack_preview", "board_pack.board_pack_preview"),
    ("/cycles/2027-01/board-packs/7/", "board_pack_archived", "board_pack.board_pack_archived"),
    ("/cycles/2027-01/prices/", "cycle_prices", "prices.cycle_prices_view"),
    ("/cycles/2027-01/launches/", "launches", "launches.launches_page"),
    ("/cycles/2027-01/launches/download/", "launches_download", "launches.launches_download"),
    ("/cycles/2027-01/launches/3/", "launch_update", "launches.launch_update_view"),
    ("/cycles/2027-01/grid/PUMPS/use-ramp/", "grid-use-ramp", "grid.grid_use_ramp_view"),
]


@pytest.mark.parametrize(("address", "name", "view"), ADDRESSES)
def test_every_planning_address_keeps_its_name_and_view(address, name, view):
    match = resolve(address)
    assert match.url_name == name
    assert f"{match.func.__module__}.{match.func.__name__}" == f"planning.views.{view}"
    assert reverse(name, kwargs=match.kwargs) == address


def test_the_names_are_unique_and_all_listed():
    import planning.urls

    names = [p.name for p in planning.urls.urlpatterns if p.name]
    assert len(names) == len(set(names))
    assert set(names) >= {name for _, name, _ in ADDRESSES}


@pytest.mark.parametrize("address", ["/cycles/nope/", "/cycles/2027-01x/grid/PUMPS/"])
def test_other_cycle_addresses_still_reach_the_friendly_404(address):
    assert resolve(address).func.__name__ == "cycle_address_unknown"
