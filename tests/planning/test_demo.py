import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from planning.demo import DEMO_PASSWORD, demo_load
from planning.models import CycleStatus, PlanningCycle, PlanValue
from planning.selectors.plans import cycle_analysis
from valuestreams.models import ProductFamily, ValueStream
from valuestreams.selectors import value_streams_visible

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 25)


def test_load_demo_twice_changes_nothing():
    demo_load(today=TODAY)
    counts = (PlanningCycle.objects.count(), PlanValue.objects.count())
    values = list(PlanValue.objects.order_by("pk").values_list("value", "version"))
    demo_load(today=TODAY)
    assert (PlanningCycle.objects.count(), PlanValue.objects.count()) == counts
    assert list(PlanValue.objects.order_by("pk").values_list("value", "version")) == values


def test_demo_has_streams_families_history_and_the_current_cycle():
    demo_load(today=TODAY)
    assert ValueStream.objects.count() == 3
    npd = ValueStream.objects.get(kind="npd")
    assert npd.serves.count() == 2
    assert 14 <= ProductFamily.objects.count() <= 18
    assert PlanningCycle.objects.filter(status=CycleStatus.APPROVED).count() == 12
    current = PlanningCycle.objects.get(month=dt.date(2026, 11, 1))
    assert current.status == CycleStatus.IN_PROGRESS and current.steps.count() == 5
    measures = set(PlanValue.objects.filter(cycle=current).values_list("measure", flat=True))
    assert measures == {
        "demand",
        "production",
        "opening_inventory",
        "actual_sales",
        "available_hours",
        "non_productive_hours",
        "conversion_cost",
        "sustaining_cost",
        "statistical_baseline",  # step 1 shows the baseline from the start
    }
    assert current.baseline_fits.exclude(method="").exists()
    analysis = cycle_analysis(cycle=current)
    assert len(analysis.accuracy.stream) > 0, "history gives forecast accuracy"
    assert analysis.previous_cycle.month == dt.date(2026, 10, 1)


def test_demo_users_log_in_and_planner_sees_one_stream(capsys):
    call_command("load_demo", no_board_pack=True)
    out = capsys.readouterr().out
    for name in ("executive", "finance", "sales", "planner", "manager", "admin"):
        assert name in out
        assert authenticate(username=name, password=DEMO_PASSWORD) is not None
    planner = authenticate(username="planner", password=DEMO_PASSWORD)
    assert list(value_streams_visible(user=planner).values_list("code", flat=True)) == ["PUMPS"]
    executive = authenticate(username="executive", password=DEMO_PASSWORD)
    assert value_streams_visible(user=executive).count() == 3


def test_demo_has_36_months_of_actuals_and_a_populated_closed_month():
    from planning.box_score import EXPORT_MEASURES
    from planning.models import Actual
    from planning.selectors.actuals import closed_months_box_score

    demo_load(today=TODAY)
    months = sorted(set(Actual.objects.values_list("month", flat=True)))
    assert len(months) == 36 and months[-1] == dt.date(2026, 10, 1)
    assert months[0] == dt.date(2023, 11, 1)
    n = Actual.objects.count()
    demo_load(today=TODAY)
    assert Actual.objects.count() == n and set(
        Actual.objects.values_list("version", flat=True)
    ) == {1}
    score = closed_months_box_score(months=[dt.date(2026, 10, 1)])
    company = score[score["value_stream"] == ""].iloc[0]
    unfilled = {"dock_to_dock_days", "fva_statistics", "fva_consensus", "on_time_launch"}
    for m in set(EXPORT_MEASURES) - unfilled:
        assert company[m] == company[m], m  # not NaN
    pumps = score[score["value_stream"] == "PUMPS"].iloc[0]
    assert 0.8 < pumps["on_time_delivery"] <= 1 and pumps["dock_to_dock_days"] > 0
    # sales have a season: the peak month sells more than the trough of the same year
    sales = dict(
        Actual.objects.filter(product_family__code="PMP-CEN", measure="actual_sales").values_list(
            "month", "value"
        )
    )
    assert sales[dt.date(2026, 6, 1)] > sales[dt.date(2025, 12, 1)]


def test_sofp_results_page_on_the_demo(client, monkeypatch):
    from django.utils import timezone

    from planning.selectors import actuals as actuals_selectors

    demo_load(today=TODAY)
    monkeypatch.setattr(
        actuals_selectors, "last_closed_month", lambda now=None: dt.date(2026, 10, 1)
    )
    assert timezone.now()  # the page reads the real clock otherwise
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="executive"))
    r = client.get("/results/")
    assert r.status_code == 200
    rows = r.context["rows"]
    assert rows[0]["month"] == "2025-11" and rows[-1]["month"] == "2026-10"
    assert all(x["on_time_delivery"] is not None for x in rows)
    assert all(x["inventory_days"] is not None and x["inventory_days"] > 0 for x in rows)
    changes = {c["measure"]: c for c in r.context["changes"]}
    assert changes["on_time_delivery"]["change"] is not None
    assert "−10% to −15%" in r.content.decode()
    client.force_login(get_user_model().objects.get(username="planner"))
    assert client.get("/results/").status_code == 403


def test_demo_past_cycles_froze_a_baseline_so_fva_shows():
    """Every approved demo cycle has its statistical baseline (forecast from the sales
    before it), so the FVA of the closed months compares naive, baseline and consensus."""
    from planning.models import Actual
    from planning.selectors.baseline import cycle_fva

    demo_load(today=TODAY)
    sold = {}  # family -> months with actual sales
    for code, month in Actual.objects.filter(measure="actual_sales").values_list(
        "product_family__code", "month"
    ):
        sold.setdefault(code, []).append(month)
    for cycle in PlanningCycle.objects.filter(status=CycleStatus.APPROVED):
        # every family of the cycle's own master copy, launch families included (issue
        # 17): fitted with 3 months of sales before the cycle, else empty with a reason
        families = set(
            cycle.master_families.filter(active=True).values_list("product_family__code", flat=True)
        )
        fits = {f.product_family.code: f for f in cycle.baseline_fits.all()}
        assert set(fits) == families, cycle.label
        for code in families:
            history = [m for m in sold.get(code, []) if m < cycle.month]
            if len(history) >= 3:
                assert fits[code].method, (cycle.label, code)
            else:
                assert not fits[code].method and fits[code].reason, (cycle.label, code)
        assert PlanValue.objects.filter(
            cycle=cycle, measure="statistical_baseline", value__isnull=False
        ).exists(), cycle.label
    current = PlanningCycle.objects.get(month=dt.date(2026, 11, 1))
    window = cycle_fva(cycle=current).window.set_index("value_stream")
    assert window.loc["", "months"] >= 11
    assert window.loc["", "baseline_wape"] == window.loc["", "baseline_wape"]  # not NaN
    assert window.loc["", "fva_statistics"] == window.loc["", "fva_statistics"]


def test_demo_box_score_plan_hours_are_the_frozen_plans_required_hours():
    """Issues 16/19: a closed month's capacity forecast is the frozen plan's required
    hours, the NPD launches' development hours included (SOFP.md "NPD launches")."""
    from planning.selectors.actuals import closed_months_box_score
    from planning.selectors.plans import cycle_projection

    demo_load(today=TODAY)
    october = dt.date(2026, 10, 1)
    frozen = PlanningCycle.objects.get(month=dt.date(2026, 9, 1))
    stream = cycle_projection(cycle=frozen).stream
    oct_rows = stream[stream["month"] == "2026-10"].set_index("value_stream")
    assert oct_rows.loc["NPD", "development_hours"] > 0, "the demo plans project work"
    score = closed_months_box_score(months=[october]).set_index("value_stream")
    for code in ("PUMPS", "VALVES", "NPD"):
        assert score.loc[code, "plan_hours"] == pytest.approx(
            oct_rows.loc[code, "required_hours"]
        ), code
    npd = score.loc["NPD"]
    actual, plan = npd["actual_productive_hours"], npd["plan_hours"]
    assert npd["capacity_wape"] == pytest.approx(abs(actual - plan) / actual)


def test_demo_launched_families_have_history_from_their_launch_month():
    """The demo's story holds together: launched families sell and are made from their
    launch month, earlier frozen plans held their ramp, the closed month's box score
    counts them, step 5 does not call them new demand, and their stock is not 0."""
    from planning.models import Actual
    from planning.selectors.actuals import closed_months_box_score

    demo_load(today=TODAY)
    october = dt.date(2026, 10, 1)
    for code, launched in (("PMP-ECO", dt.date(2026, 5, 1)), ("VLV-SMT", dt.date(2026, 9, 1))):
        for measure in ("actual_sales", "actual_production"):
            months = set(
                Actual.objects.filter(product_family__code=code, measure=measure).values_list(
                    "month", flat=True
                )
            )
            assert min(months) == launched and max(months) == october, (code, measure)
        # the frozen plan of cycle 2026-09 planned its October demand
        assert (
            PlanValue.objects.get(
                cycle__month=dt.date(2026, 9, 1),
                product_family__code=code,
                month=october,
                measure="demand",
            ).value
            > 0
        )
    score = closed_months_box_score(months=[october])
    score = score.set_index("value_stream")
    for code in ("PUMPS", "VALVES"):
        assert score.loc[code, "demand_wape"] < 0.2, code
    # NPD's actual productive hours hold its project work as its plan hours do
    assert score.loc["NPD", "capacity_wape"] < 0.25
    current = PlanningCycle.objects.get(month=dt.date(2026, 11, 1))
    analysis = cycle_analysis(cycle=current)
    exceptions = analysis.exceptions
    new_demand = exceptions[exceptions["message"].str.contains("new demand", na=False)]
    assert not set(new_demand["product_family"]) & {"PMP-ECO", "VLV-SMT"}
    fam = analysis.projection.family
    eco = fam[(fam["product_family"] == "PMP-ECO") & (fam["month"] == "2026-11")].iloc[0]
    assert eco["days_of_supply"] > 5


def test_demo_board_pack_is_a_note_without_chromium(settings, tmp_path):
    """Issue 20: without Chromium the demo still loads and says why there is no pack."""
    from planning.demo import demo_board_pack
    from planning.models import BoardPack

    settings.SOFP_CHROMIUM_PATH = str(tmp_path / "no-chromium-here")
    assert demo_board_pack() == "No approved cycle, so no board pack to archive."
    demo_load(today=TODAY)
    note = demo_board_pack()
    assert note.startswith("Board pack of 2026-10 not archived:") and "Chromium" in note
    assert not BoardPack.objects.exists()


def test_load_demo_archives_the_latest_approved_board_pack(
    settings, chromium_path, capsys, monkeypatch
):
    """Issue 20: the demo's latest approved cycle has its approved pack, archived once."""
    from planning.management.commands import load_demo
    from planning.models import BoardPack

    settings.SOFP_CHROMIUM_PATH = chromium_path
    monkeypatch.setattr(load_demo, "demo_load", lambda: demo_load(today=TODAY))
    call_command("load_demo")
    assert "Archived the approved board pack of 2026-10" in capsys.readouterr().out
    pack = BoardPack.objects.get()
    assert pack.cycle.month == dt.date(2026, 10, 1) and pack.kind == BoardPack.Kind.APPROVED
    assert pack.pdf[:4] == b"%PDF" and pack.pages > 0
    call_command("load_demo")
    assert "is archived" in capsys.readouterr().out and BoardPack.objects.count() == 1
