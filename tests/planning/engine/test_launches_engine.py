"""NPD launches in the pure engine: development hours in required hours, the
launch-slipped exception, on-time launch (hand-computed numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning import engine
from planning.box_score import on_time_launch

P = pd.Period


def _plan(dev: pd.DataFrame | None) -> engine.PlanInput:
    master = pd.DataFrame(
        [
            ("NPD", "N-1", 100.0, 40.0, 2.0, 10.0, 30.0),
            ("PUMPS", "P-1", 100.0, 40.0, 1.0, 10.0, 30.0),
        ],
        columns=list(engine.MASTER_COLUMNS),
    )
    rows = [
        ("NPD", "N-1", "2027-01", "production", 50.0),
        ("NPD", "N-1", "2027-02", "production", 50.0),
        ("NPD", "", "2027-01", "available_hours", 200.0),
        ("NPD", "", "2027-02", "available_hours", 200.0),
        ("NPD", "", "2027-03", "available_hours", 200.0),
        ("NPD", "", "2027-01", "non_productive_hours", 20.0),
        ("PUMPS", "P-1", "2027-01", "production", 10.0),
        ("PUMPS", "", "2027-01", "available_hours", 100.0),
    ]
    values = pd.DataFrame(rows, columns=list(engine.VALUE_COLUMNS))
    return engine.PlanInput(P("2027-01", "M"), 3, master, values, development_hours=dev)


def _stream(proj: engine.Projection, code: str) -> pd.DataFrame:
    return proj.stream[proj.stream["value_stream"] == code].reset_index(drop=True)


def test_development_hours_add_to_the_npd_streams_required_hours():
    dev = pd.DataFrame(
        [
            ("NPD", "2027-01", 60.0),
            ("NPD", "2027-01", 30.0),  # two launches in one month add up
            ("NPD", "2027-03", 150.0),
            ("NPD", "2026-12", 999.0),  # before the horizon: ignored
            ("ELSEWHERE", "2027-01", 999.0),  # not a stream of the plan: ignored
        ],
        columns=["value_stream", "month", "hours"],
    )
    npd = _stream(engine.project(_plan(dev)), "NPD")
    # R = P × hours_per_unit + development: Jan 50×2+90 = 190, Feb 100, Mar 0+150.
    assert npd["development_hours"].tolist() == [90.0, 0.0, 150.0]
    assert npd["required_hours"].tolist() == [190.0, 100.0, 150.0]
    # U = R ÷ A: 0.95, 0.5, 0.75; available share (A − R − N) ÷ A in Jan = (200−190−20)/200.
    assert npd["utilization"].tolist() == pytest.approx([0.95, 0.5, 0.75])
    assert npd["available_share"].iloc[0] == pytest.approx(-0.05)
    pumps = _stream(engine.project(_plan(dev)), "PUMPS")
    assert pumps["required_hours"].iloc[0] == 10.0 and pumps["development_hours"].sum() == 0


def test_without_development_hours_nothing_changes():
    a = engine.project(_plan(None))
    b = engine.project(_plan(pd.DataFrame(columns=["value_stream", "month", "hours"])))
    pd.testing.assert_frame_equal(a.stream, b.stream)
    assert _stream(a, "NPD")["required_hours"].tolist() == [100.0, 100.0, 0.0]


def test_overload_exceptions_include_project_work():
    dev = pd.DataFrame([("NPD", "2027-01", 150.0)], columns=["value_stream", "month", "hours"])
    ex = engine.exceptions(engine.project(_plan(dev)))
    over = ex[(ex["kind"] == "overloaded") & (ex["value_stream"] == "NPD")]
    assert over["month"].astype(str).tolist() == ["2027-01"]
    assert over["value"].iloc[0] == pytest.approx(250 / 200)
    assert engine.exceptions(engine.project(_plan(None))).query("kind == 'overloaded'").empty


def _launches(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(engine.LAUNCH_COLUMNS))


def test_a_planned_launch_later_than_committed_is_a_slipped_exception():
    launches = _launches(
        ("NPD", "PUMPS", "P-1", "planned", "2027-05", "2027-03"),  # 2 months late
        ("NPD", "PUMPS", "P-2", "planned", "2027-02", "2027-03"),  # earlier: fine
        ("NPD", "PUMPS", "P-3", "planned", "2027-04", None),  # never approved: no commitment
        ("NPD", "PUMPS", "P-4", "cancelled", "2027-09", "2027-03"),  # out of the plan
        ("NPD", "PUMPS", "P-5", "launched", "2027-06", "2027-03"),  # done
    )
    ex = engine.exceptions(engine.project(_plan(None)), launches=launches)
    slipped = ex[ex["kind"] == "launch_slipped"]
    assert len(slipped) == 1
    row = slipped.iloc[0]
    assert (row["value_stream"], row["product_family"], str(row["month"])) == (
        "PUMPS",
        "P-1",
        "2027-05",
    )
    assert row["value"] == 2 and row["severity"] == engine.SEVERITY["launch_slipped"]
    assert row["distance"] == pytest.approx(2 / 12)  # ranked against a year's slip
    assert row["message"] == (
        "Launch slipped 2 months: committed 2027-03, now planned 2027-05 (developed by NPD)"
    )


def test_on_time_launch_over_the_last_twelve_closed_months():
    def period(text):
        return None if text is None else P(text, "M")

    record = pd.DataFrame(
        [
            ("NPD", "launched", period("2027-03"), period("2027-03")),  # on time
            ("NPD", "launched", period("2027-04"), period("2027-02")),  # early: on time
            ("NPD", "launched", period("2027-05"), period("2027-07")),  # late
            ("NPD", "planned", period("2027-06"), None),  # due and not launched: late
            ("NPD", "planned", period("2028-06"), None),  # not due yet
            ("NPD", "cancelled", period("2027-06"), None),  # counts nowhere
            ("LAB", "launched", period("2026-01"), period("2026-01")),  # outside the window
            ("LAB", "planned", None, None),  # no commitment
        ],
        columns=["npd_stream", "status", "committed_month", "actual_month"],
    )
    out = on_time_launch(record, [P("2027-03", "M"), P("2027-06", "M"), P("2027-12", "M")])
    got = {(vs, str(m)): v for vs, m, v in out.itertuples(index=False)}
    # 2027-03: only the first is due → 1/1; 2027-06: four due, two on time → 0.5.
    assert got[("NPD", "2027-03")] == 1.0 and got[("", "2027-03")] == 1.0
    assert got[("NPD", "2027-06")] == 0.5 and got[("", "2027-06")] == 0.5
    assert got[("NPD", "2027-12")] == 0.5
    # LAB's only launch is more than 12 months before 2027-03: nothing due, empty.
    assert np.isnan(got[("LAB", "2027-03")])
