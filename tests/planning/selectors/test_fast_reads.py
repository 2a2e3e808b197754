"""The fast reading paths (issue 21) give exactly what the plain Django reads gave.

``_values_frame`` reads ids, month ordinals and float values straight from the cursor;
``cycle_master_frame`` reads the master copy raw; ``cycle_fva`` computes from the reads
the closed-month box score shares; the comparison's exception records are built from
lists. Each is compared here, exactly (dtypes included), with a reference that reads
the same rows through Django's model fields (Decimals, dates, joined codes), on
generated data: several streams, frozen cycles, tombstones, company and stream rows,
filters, scenarios, empty cases.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from planning import engine
from planning.calendar import month_add
from planning.models import Actual, CycleFamily, PlanValue, ScenarioCell
from planning.selectors.baseline import cycle_fva, fva_inputs
from planning.selectors.plans import (
    _plan_values_query,
    _values_frame,
    cycle_analysis,
    cycle_master_frame,
    plan_values_frame,
)
from planning.selectors.scenarios import _exception_rows
from planning.services.plan_values import CellInput, plan_values_upsert
from planning.services.scenarios import scenario_create
from sofp.dbfunctions import MonthOrdinal
from tests.dashboard_data import build_company
from valuestreams.models import ProductFamily, ValueStream

pytestmark = pytest.mark.django_db

MONTH = dt.date(2027, 1, 1)


def _reference_values(qs) -> pd.DataFrame:
    """The long frame as Django's own converters read it (Decimal, date, joined codes)."""
    rows = list(
        qs.order_by().values_list(
            "value_stream__code", "product_family__code", "measure", "month", "value"
        )
    )
    streams, families, measures, months, values = zip(*rows, strict=True) if rows else ((),) * 5
    return pd.DataFrame(
        {
            "value_stream": pd.Series([c or "" for c in streams], dtype=object),
            "product_family": pd.Series([c or "" for c in families], dtype=object),
            "month": pd.PeriodIndex([pd.Period(m, freq="M") for m in months], freq="M"),
            "measure": pd.Series(measures, dtype=object),
            "value": np.array([float(v) for v in values], dtype="float64"),
        }
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Reads are unordered: compare the same rows in one order."""
    keys = ["value_stream", "product_family", "month", "measure"]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _assert_same_values(qs) -> None:
    fast = _values_frame(qs)
    pd.testing.assert_frame_equal(_sorted(fast), _sorted(_reference_values(qs)), check_exact=True)


@pytest.fixture
def company_plan():
    """Three streams × four families, the cycle of MONTH and two frozen cycles before
    it, with company rows, a cleared cell (tombstone), awkward values and an inactive
    family."""
    cycle = build_company(streams=3, families=4, month=MONTH, horizon=6)
    plan_values_upsert(
        cycle=cycle,
        cells=[
            CellInput("S00", "S00-F000", MONTH, "demand", None),  # a tombstone
            CellInput("S01", "S01-F001", MONTH, "demand", Decimal("0.000001")),
            CellInput("S01", "S01-F002", MONTH, "demand", Decimal("123456789.123456")),
            CellInput("S02", "", month_add(MONTH, 5), "conversion_cost", Decimal("7")),
        ],
        user=None,
    )
    ProductFamily.objects.filter(code="S02-F003").update(active=False)
    return cycle


def test_values_frame_equals_the_django_read(company_plan):
    streams = list(ValueStream.objects.order_by("code"))
    for cycle in (company_plan, *company_plan.__class__.objects.exclude(pk=company_plan.pk)):
        for scope in (None, streams[:1], streams[1:]):
            for company in (True, False):
                _assert_same_values(
                    _plan_values_query(cycle=cycle, value_streams=scope, include_company=company)
                )
        _assert_same_values(
            _plan_values_query(
                cycle=cycle, value_streams=None, include_company=True, family="S01-F002"
            )
        )
    frame = plan_values_frame(cycle=company_plan)
    assert ("", "") in set(zip(frame["value_stream"], frame["product_family"], strict=True))
    assert str(frame["month"].dtype) == "period[M]"
    assert frame["value"].dtype == np.float64
    assert {0.000001, 123456789.123456} <= set(frame["value"])
    # The tombstone is not read.
    first = frame[(frame["product_family"] == "S00-F000") & (frame["measure"] == "demand")]
    assert pd.Period(MONTH, freq="M") not in set(first["month"])


def test_values_frame_of_nothing_has_the_columns_and_types(company_plan):
    for qs in (
        _plan_values_query(cycle=company_plan, value_streams=[], include_company=False),
        PlanValue.objects.none(),
        PlanValue.objects.filter(pk__lt=0),
    ):
        fast = _values_frame(qs)
        assert len(fast) == 0
        pd.testing.assert_frame_equal(fast, _reference_values(qs))


def test_a_scenario_reads_its_own_cells_the_way_the_plan_reads_the_plan(company_plan):
    scenario = scenario_create(cycle=company_plan, name="shift", user=None)
    view = company_plan.in_scenario(scenario)
    plan_qs = _plan_values_query(cycle=company_plan, value_streams=None, include_company=True)
    scenario_qs = _plan_values_query(cycle=view, value_streams=None, include_company=True)
    assert scenario_qs.model is ScenarioCell
    # A fresh scenario is the plan, cell for cell.
    pd.testing.assert_frame_equal(
        _sorted(_values_frame(scenario_qs)), _sorted(_values_frame(plan_qs)), check_exact=True
    )
    plan_values_upsert(
        cycle=view,
        cells=[CellInput("S00", "S00-F001", MONTH, "demand", Decimal("999.5"))],
        user=None,
    )
    _assert_same_values(scenario_qs)
    edited = _values_frame(scenario_qs)
    hit = edited[
        (edited["product_family"] == "S00-F001")
        & (edited["measure"] == "demand")
        & (edited["month"] == pd.Period(MONTH, freq="M"))
    ]
    assert list(hit["value"]) == [999.5]
    assert 999.5 not in set(_values_frame(plan_qs)["value"])  # the plan is untouched


def test_codes_of_many_ids_are_read_whole(company_plan, monkeypatch):
    """Past the threshold of ids asked for by name, every code is read: same frame."""
    from planning.selectors import plans

    monkeypatch.setattr(plans, "_CODE_IDS_ASKED", 2)
    _assert_same_values(
        _plan_values_query(cycle=company_plan, value_streams=None, include_company=True)
    )


def _reference_master(cycle) -> pd.DataFrame:
    copies = (
        CycleFamily.objects.filter(cycle=cycle, active=True)
        .select_related("value_stream", "product_family")
        .order_by("value_stream__code", "product_family__code")
    )
    return pd.DataFrame(
        [
            (
                c.value_stream.code,
                c.product_family.code,
                *(float(getattr(c, f)) for f in engine.MASTER_COLUMNS[2:]),
            )
            for c in copies
        ],
        columns=list(engine.MASTER_COLUMNS),
    ).astype({c: "float64" for c in engine.MASTER_COLUMNS[2:]})


def test_master_frame_equals_the_model_read(company_plan):
    CycleFamily.objects.filter(cycle=company_plan, product_family__code="S01-F001").update(
        unit_price=Decimal("123456.7891"), hours_per_unit=Decimal("0.000001")
    )
    CycleFamily.objects.filter(cycle=company_plan, product_family__code="S02-F002").update(
        active=False
    )
    want = _reference_master(company_plan)
    got = cycle_master_frame(cycle=company_plan)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert "S02-F002" not in set(got["product_family"])
    one = cycle_master_frame(cycle=company_plan, family="S01-F001")
    pd.testing.assert_frame_equal(
        one,
        want[want["product_family"] == "S01-F001"].reset_index(drop=True),
        check_exact=True,
    )
    assert one["unit_price"].tolist() == [123456.7891]
    streams = list(ValueStream.objects.filter(code="S01"))
    assert set(cycle_master_frame(cycle=company_plan, value_streams=streams)["value_stream"]) == {
        "S01"
    }
    none = cycle_master_frame(cycle=company_plan, value_streams=[])
    assert len(none) == 0 and list(none.columns) == list(engine.MASTER_COLUMNS)
    assert (none.dtypes.iloc[2:] == np.float64).all()


def test_master_frame_without_any_copy_reads_the_live_master(company_plan):
    CycleFamily.objects.filter(cycle=company_plan).delete()
    got = cycle_master_frame(cycle=company_plan)
    live = ProductFamily.objects.filter(active=True).order_by("value_stream__code", "code")
    assert got["product_family"].tolist() == [f.code for f in live]
    assert got["unit_price"].tolist() == [float(f.unit_price) for f in live]


@pytest.fixture
def fva_history(company_plan):
    """Baselines in the frozen cycles and 14 months of actual sales, so every FVA
    measure (naive, baseline, consensus; monthly and the window) has numbers."""
    frozen = list(company_plan.__class__.objects.filter(status="approved"))
    families = list(ProductFamily.objects.select_related("value_stream").order_by("code"))
    # Frozen cycles refuse writes: their baselines are stored as the demo data is.
    PlanValue.objects.bulk_create(
        PlanValue(
            cycle=cycle,
            value_stream=f.value_stream,
            product_family=f,
            month=month_add(cycle.month, 1),
            measure="statistical_baseline",
            value=Decimal(90 + i),
        )
        for cycle in frozen
        for i, f in enumerate(families)
    )
    Actual.objects.filter(measure="actual_sales").delete()
    Actual.objects.bulk_create(
        Actual(
            measure="actual_sales",
            value_stream=f.value_stream,
            product_family=f,
            month=month_add(MONTH, -back),
            value=Decimal(80 + 3 * i + back),
        )
        for i, f in enumerate(families)
        for back in range(1, 15)
    )
    return company_plan


def test_cycle_fva_equals_fva_read_on_its_own(fva_history):
    streams = list(ValueStream.objects.order_by("code"))
    for scope in (None, streams[:2]):
        alone = engine.forecast_value_added(
            *fva_inputs(cycle=fva_history, value_streams=scope)[:2],
            months=fva_inputs(cycle=fva_history, value_streams=scope)[2],
        )
        shared = cycle_fva(cycle=fva_history, value_streams=scope)
        pd.testing.assert_frame_equal(shared.monthly, alone.monthly, check_exact=True)
        pd.testing.assert_frame_equal(shared.window, alone.window, check_exact=True)
    assert shared.monthly["fva_statistics"].notna().any()
    assert shared.window["fva_consensus"].notna().any()


def test_cycle_fva_uses_the_closed_box_scores_reads_and_sees_new_facts(
    fva_history, django_assert_max_num_queries
):
    from planning.selectors.actuals import closed_months_box_score

    months = [month_add(MONTH, -k) for k in range(12, 0, -1)]
    closed_months_box_score(months=months)
    with django_assert_max_num_queries(2):  # the key only: facts fingerprint, frozen stamp
        before = cycle_fva(cycle=fva_history)
    Actual.objects.filter(month=month_add(MONTH, -1), product_family__code="S00-F000").update(
        value=Decimal("1000")
    )
    after = cycle_fva(cycle=fva_history)
    alone = engine.forecast_value_added(*fva_inputs(cycle=fva_history)[:2])
    pd.testing.assert_frame_equal(after.monthly, alone.monthly, check_exact=True)
    assert not after.monthly.equals(before.monthly)


def _reference_exception_rows(frame: pd.DataFrame) -> dict[str, dict]:
    out = pd.DataFrame(
        {
            "kind": frame["kind"].astype(str),
            "value_stream": frame["value_stream"].astype(str),
            "product_family": frame["product_family"].fillna("").astype(str),
            "month": frame["month"].astype(str),
            "value": frame["value"].astype(float),
            "message": frame["message"].astype(str),
        }
    )
    keys = (
        out["kind"] + ":" + out["value_stream"] + ":" + out["product_family"] + ":" + out["month"]
    )
    records = out.astype(object).where(out.notna(), None).to_dict(orient="records")
    return dict(zip(keys.tolist(), records, strict=True))


def test_exception_records_equal_the_pandas_records(company_plan):
    exceptions = cycle_analysis(cycle=company_plan).exceptions
    assert len(exceptions)
    some_missing = exceptions.copy()
    some_missing.loc[some_missing.index[:2], "value"] = np.nan
    for frame in (exceptions, some_missing, exceptions.iloc[:0]):
        got, want = _exception_rows(frame), _reference_exception_rows(frame)
        assert got == want and list(got) == list(want)
        for key, record in got.items():
            assert list(record) == list(want[key])
            assert [type(v) for v in record.values()] == [type(v) for v in want[key].values()]
    assert _exception_rows(some_missing)[next(iter(_exception_rows(some_missing)))]["value"] is None


def test_month_ordinal_is_months_since_1970(plan):
    months = [dt.date(1999, 12, 1), dt.date(1970, 1, 1), dt.date(2030, 11, 1)]
    cells = list(PlanValue.objects.order_by("pk")[:3])
    for cell, m in zip(cells, months, strict=True):
        PlanValue.objects.filter(pk=cell.pk).update(month=m)
    got = dict(
        PlanValue.objects.filter(pk__in=[c.pk for c in cells]).values_list(
            "pk", MonthOrdinal("month")
        )
    )
    assert [got[c.pk] for c in cells] == [(m.year - 1970) * 12 + m.month - 1 for m in months]
    assert [str(pd.Period(ordinal=got[c.pk], freq="M")) for c in cells] == [
        "1999-12",
        "1970-01",
        "2030-11",
    ]


def test_cell_keys_equal_the_formatted_keys(company_plan):
    from planning.selectors.approval import _cell_keys

    exceptions = cycle_analysis(cycle=company_plan).exceptions
    changes = exceptions[exceptions["kind"] == "demand_change"]
    assert len(changes)
    want = (
        changes["value_stream"].astype(str)
        + ":"
        + changes["product_family"].astype(str)
        + ":"
        + changes["month"].dt.strftime("%Y-%m")
    )
    pd.testing.assert_series_equal(_cell_keys(changes), want)
    assert _cell_keys(changes.iloc[:0]).tolist() == []


def test_family_options_escape_each_code_once(company_plan):
    from planning.selectors.cycle_families import cycle_family_codes
    from planning.selectors.dashboards import _family_options

    ProductFamily.objects.filter(code="S01-F001").update(code='S01-<F&"1>')
    rows = cycle_family_codes(cycle=company_plan, value_streams=list(ValueStream.objects.all()))
    html = _family_options(rows, 'S01-<F&"1>')
    assert (
        '<option value="S01-&lt;F&amp;&quot;1&gt;" selected>S01 · S01-&lt;F&amp;&quot;1&gt;' in html
    )
    # The families the cycle plans (its copy; the fixture's master-only deactivation
    # does not reach it).
    assert html.count("<option") == len(rows) == company_plan.master_families.count()
    assert html.count(" selected") == 1
    assert '<option value="S00-F000">S00 · S00-F000</option>' in html
