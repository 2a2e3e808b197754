"""SOFP results: a rate's change since the start is in points (on-time delivery and
on-time launch alike), never a relative change of a share."""

from __future__ import annotations

import pandas as pd
import pytest
from django.template.loader import render_to_string

from planning.box_score import sofp_results


def _frame(launch: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": [pd.Period("2026-09", freq="M"), pd.Period("2026-10", freq="M")],
            "on_time_delivery": [0.90, 0.921],
            "actual_material_cost": [3000.0, 3100.0],
            "inventory_value": [2000.0, 1800.0],
            "cash_flow": [100.0, 110.0],
            "on_time_launch": launch,
        }
    )


def test_on_time_launch_change_is_in_points():
    _, changes = sofp_results(_frame([0.8, 0.4]))
    by = {c["measure"]: c for c in changes}
    assert by["on_time_launch"]["change"] == pytest.approx(-0.4)  # not −50 %
    assert by["on_time_launch"]["how"] == by["on_time_delivery"]["how"] == "points"


@pytest.mark.django_db
def test_the_page_shows_both_rates_changes_in_points(rf, admin_user):
    rows, changes = sofp_results(_frame([0.8, 0.4]))
    request = rf.get("/sofp-results/")
    request.user = admin_user
    html = render_to_string(
        "planning/sofp_results.html",
        {"rows": rows.to_dict("records"), "changes": changes, "currency": "EUR"},
        request=request,
    )
    launch = html.split('data-measure="on_time_launch"')[1].split("</tr>")[0]
    delivery = html.split('data-measure="on_time_delivery"')[1].split("</tr>")[0]
    assert "pp" in launch and "pp" in delivery, launch
    assert "50.0%" not in launch and "+10 points" in launch
