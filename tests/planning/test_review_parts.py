"""The review's parts beside its analysis, written on arrays / plain Python (issue 21,
sixth round), give exactly what the pandas implementations they replaced gave.

The reference functions below are those implementations (``trial`` at 1262359), kept
here only to compare against: frames equal exactly (columns, dtypes, index, floats bit
for bit), dicts and lists equal with the same types, on random plans (one stream, many
streams, none; partial overlaps with the previous plan; zero prices), on frames the new
paths hand to pandas (a repeated key, a code that is not a ``str``, NaN and ±inf, empty
frames), and the review page's HTML byte for byte, open and frozen cycles.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from django.test import Client

from planning import dashboards, engine
from planning.calendar import month_add
from planning.dashboards import BOX_METRICS, number_or_none
from planning.engine import PLAN_CHANGE_MEASURES
from planning.selectors import approval, assumptions
from planning.selectors.plans import projections_forget
from tests.clock import pin_day
from tests.planning.engine.test_engine_small_frames import _random_plan

# --------------------------------------------------------------------------- reference


def ref_family_changes(analysis) -> pd.DataFrame:
    keys = ["value_stream", "product_family", "month"]
    cur = analysis.projection.family.loc[:, [*keys, *assumptions.CHANGE_MEASURES]]
    prev = analysis.previous.family.loc[:, [*keys, *assumptions.CHANGE_MEASURES]]
    both = cur.merge(prev, on=keys, how="inner", suffixes=("_c", "_p"))
    parts = []
    for m in assumptions.CHANGE_MEASURES:
        part = both[keys].copy()
        part["measure"] = m
        part["current"] = both[f"{m}_c"].astype(float)
        part["previous"] = both[f"{m}_p"].astype(float)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["change"] = out["current"] - out["previous"]
    out = out[out["change"].abs() > 0]
    return out.sort_values("change", key=lambda s: s.abs(), ascending=False, kind="stable")


def ref_change_summary(changes: pd.DataFrame) -> pd.DataFrame:
    cols = ["value_stream", "measure", "current", "previous", "change", "change_pct"]
    if changes is None or not len(changes):
        return pd.DataFrame(columns=cols)
    tot = changes.groupby(["value_stream", "measure"], sort=False, as_index=False)[
        ["current", "previous", "change"]
    ].sum()
    prev = tot["previous"].abs().to_numpy(float)
    pct = np.full(len(tot), np.nan)
    np.divide(tot["change"].to_numpy(float), prev, out=pct, where=prev != 0)
    tot["change_pct"] = pct
    order = {m: i for i, m in enumerate(PLAN_CHANGE_MEASURES)}
    tot["_o"] = tot["measure"].map(order)
    return tot.sort_values(["value_stream", "_o"]).loc[:, cols].reset_index(drop=True)


def ref_box_lookup(frame, month, columns):
    if frame is None or not len(frame):
        return {}
    at = frame[frame["month"] == month]
    metrics = list(dict.fromkeys(m.column for m in BOX_METRICS))
    by_code = dict(zip(at["value_stream"], at[metrics].to_dict("records"), strict=True))
    return {
        (code, col): number_or_none(by_code[code][col]) if code in by_code else None
        for code, _heading in columns
        for col in metrics
    }


def ref_cell_keys(changes: pd.DataFrame) -> pd.Series:
    at, months = pd.factorize(changes["month"])
    labels = np.array([*(m.strftime("%Y-%m") for m in months), np.nan], dtype=object)
    month = pd.Series(labels.take(at), index=changes.index, dtype=object)
    return (
        changes["value_stream"].astype(str)
        + ":"
        + changes["product_family"].astype(str)
        + ":"
        + month
    )


def ref_covering_index(cycle, measures, value_streams):
    from planning.models import Assumption

    qs = Assumption.objects.filter(
        cycle=cycle, measure__in=measures, status__in=assumptions.EXPLAINING
    )
    if value_streams is not None:
        qs = qs.filter(value_stream__in=list(value_streams))
    index = {}
    for a in qs.select_related("value_stream", "product_family", "owner", "cycle").order_by(
        "first_month", "pk"
    ):
        index.setdefault((a.value_stream.code, a.measure), []).append(a)
    return index


def _fields(obj) -> dict:
    return {k: v for k, v in vars(obj).items() if k != "_state"} if obj is not None else None


def _same_index(new: dict, old: dict) -> None:
    assert list(new) == list(old)
    for key in old:
        assert [a.pk for a in new[key]] == [a.pk for a in old[key]]
        for a, b in zip(new[key], old[key], strict=True):
            assert _fields(a) == _fields(b)
            for name in ("value_stream", "product_family", "owner"):
                x, y = getattr(a, name), getattr(b, name)
                assert type(x) is type(y) and _fields(x) == _fields(y), name
            assert a.cycle.pk == b.cycle.pk and a.cycle.label == b.cycle.label
            assert assumptions.assumption_dict(a) == assumptions.assumption_dict(b)


def ref_commented_demand_cells(cycle) -> set[str]:
    from planning.models import Measure, PlanValue

    cells = (
        PlanValue.objects.filter(cycle=cycle, measure=Measure.DEMAND)
        .exclude(comment="")
        .values_list("value_stream__code", "product_family__code", "month")
    )
    return {f"{vs}:{pf or ''}:{month:%Y-%m}" for vs, pf, month in cells}


def ref_explained_demand_cells(cycle) -> set[str]:
    from planning.models import Assumption

    cells: set[str] = set()
    qs = Assumption.objects.filter(cycle=cycle, measure="demand", status__in=assumptions.EXPLAINING)
    families: dict[str, list[str]] = {}
    for a in qs.select_related("value_stream", "product_family"):
        vs = a.value_stream.code
        if a.product_family_id:
            fams = [a.product_family.code]
        else:
            if vs not in families:
                families[vs] = list(a.value_stream.families.values_list("code", flat=True))
            fams = families[vs]
        month = a.first_month
        while month <= a.last_month:
            cells.update(f"{vs}:{f}:{month:%Y-%m}" for f in fams)
            month = month_add(month, 1)
    return cells


def ref_approval_open_items(*, cycle, exceptions=None):
    ex = assumptions.cycle_analysis(cycle=cycle).exceptions if exceptions is None else exceptions
    changes = ex[ex["kind"] == "demand_change"]
    if len(changes):
        commented = ref_commented_demand_cells(cycle) | ref_explained_demand_cells(cycle)
        if commented:
            changes = changes[~ref_cell_keys(changes).isin(commented).to_numpy()]
    decisions = list(
        approval.Decision.objects.filter(cycle=cycle, status=approval.DecisionStatus.OPEN)
        .select_related("owner")
        .order_by("due_date", "pk")
    )
    return approval.ApprovalOpenItems(
        overloads=approval._items("Overloads", ex[ex["kind"] == "overloaded"], cycle),
        shortages=approval._items("Shortages", ex[ex["kind"] == "shortage"], cycle),
        unexplained_demand_changes=approval._items(
            "Demand changes without an explanation", changes, cycle
        ),
        open_decisions=decisions,
    )


def ref_assumptions_behind(cycle, limit=10, *, value_streams=None, analysis=None):
    streams = None if value_streams is None else list(value_streams)
    index = assumptions._covering_index(cycle, assumptions.CHANGE_MEASURES, streams)
    if limit <= 0 or not index:
        return []
    if analysis is None:
        analysis = assumptions.cycle_analysis(cycle=cycle, value_streams=streams)
    if analysis.previous is None:
        return []
    changes = ref_family_changes(analysis)
    vs_col = changes["value_stream"].to_numpy()
    measure_col = changes["measure"].to_numpy()
    family_col = changes["product_family"].to_numpy()
    ordinal = pd.PeriodIndex(changes["month"], freq="M").asi8
    found = []
    for (vs, measure), items in index.items():
        here = (vs_col == vs) & (measure_col == measure)
        if not here.any():
            continue
        for order, a in enumerate(items):
            first = assumptions._month_ordinal(a.first_month)
            last = assumptions._month_ordinal(a.last_month)
            covered = here & (ordinal >= first) & (ordinal <= last)
            if a.product_family_id:
                covered &= family_col == a.product_family.code
            hit = np.flatnonzero(covered)
            if len(hit):
                found.append((int(hit[0]), order, a))
    found.sort(key=lambda f: (f[0], f[1]))
    out = []
    for row, _, a in found[:limit]:
        vs, fam, month, measure, cur, prev, change = changes.iloc[row][
            ["value_stream", "product_family", "month", "measure", "current", "previous", "change"]
        ]
        d = assumptions.assumption_dict(a)
        d["change"] = {
            "product_family": fam,
            "month": f"{month.year:04d}-{month.month:02d}",
            "previous": prev,
            "current": cur,
            "change": change,
            "change_pct": (change / prev) if prev else None,
        }
        out.append(d)
    return out


# --------------------------------------------------------------------------- helpers


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True)
    assert type(a.index) is type(b.index)
    assert list(a.dtypes) == list(b.dtypes)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f":  # bit for bit: -0.0 and NaN payloads too
            assert np.array_equal(x.view(np.int64), y.view(np.int64)), col


def _same_plain(a, b) -> None:
    """Equal, with the same types and floats bit for bit (lists, dicts, scalars)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same_plain(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same_plain(x, y)
    elif isinstance(a, float):
        assert np.float64(a).view(np.int64) == np.float64(b).view(np.int64), (a, b)
    else:
        assert a == b


def _plans(seed: int):
    rng = np.random.default_rng(seed)
    start = pd.Period("2027-01", "M") + int(rng.integers(-2, 3))
    n_stream = int(rng.integers(0 if seed % 10 == 0 else 1, 5))
    streams = [f"S{i}" for i in range(n_stream)]
    n_fam = int(rng.integers(0 if seed % 7 == 0 else 1, 12)) if streams else 0
    cur = _random_plan(
        rng, start=start, horizon=int(rng.integers(3, 19)), streams=streams, n_fam=n_fam
    )
    prev_streams = streams[: max(len(streams) - 1, 0)] + (["OLD"] if seed % 3 == 0 else [])
    prev = _random_plan(
        rng,
        start=start - int(rng.integers(0, 3)),
        horizon=int(rng.integers(3, 19)),
        streams=prev_streams,
        n_fam=int(rng.integers(0, 12)) if prev_streams else 0,
    )
    return rng, cur, prev


def _analysis(cur, prev):
    return SimpleNamespace(projection=cur, previous=prev)


# --------------------------------------------------------------------------- frames


@pytest.mark.parametrize("seed", range(30))
def test_random_plans_give_the_old_family_changes_summary_and_box_table(seed):
    _, cur, prev = _plans(seed)
    for a, b in ((cur, prev), (prev, cur), (cur, cur)):
        _same(assumptions._family_changes(_analysis(a, b)), ref_family_changes(_analysis(a, b)))
        changes = engine.plan_changes(a, b)
        _same(dashboards.change_summary(changes), ref_change_summary(changes))
    box = engine.box_score(cur)
    prev_box = engine.box_score(prev)
    codes = sorted(set(cur.stream["value_stream"]))
    columns = [("", "Company"), *((c, c) for c in codes), ("GONE", "GONE")]
    months = [*box["month"].unique(), pd.Period("2040-01", "M")]
    for month in months:
        for frame in (box, prev_box, None, box.iloc[:0]):
            _same_plain(
                dashboards._box_lookup(frame, month, columns),
                ref_box_lookup(frame, month, columns),
            )
        new = dashboards.box_table(box, prev_box, month, columns)
        assert new == dashboards.box_table(box, prev_box, month, columns)


def test_family_changes_of_frames_left_to_pandas_and_empty_plans():
    rng, cur, prev = _plans(3)
    repeated = engine.Projection(
        family=pd.concat([prev.family, prev.family.iloc[:3]], ignore_index=True),
        stream=prev.stream,
        company=prev.company,
    )
    unsorted = engine.Projection(
        family=prev.family.sample(frac=1.0, random_state=1).reset_index(drop=True),
        stream=prev.stream,
        company=prev.company,
    )
    empty = _random_plan(rng, start=pd.Period("2027-01", "M"), horizon=6, streams=[], n_fam=0)
    for a, b in ((cur, repeated), (repeated, cur), (unsorted, cur), (cur, unsorted)):
        _same(assumptions._family_changes(_analysis(a, b)), ref_family_changes(_analysis(a, b)))
    for a, b in ((cur, empty), (empty, cur), (empty, empty)):
        _same(assumptions._family_changes(_analysis(a, b)), ref_family_changes(_analysis(a, b)))


def test_change_summary_of_odd_frames():
    rng = np.random.default_rng(5)
    n = 400
    changes = pd.DataFrame(
        {
            "value_stream": rng.choice(["B", "A", "C"], n).astype(object),
            "month": pd.period_range("2027-01", periods=n, freq="M"),
            "measure": rng.choice(list(PLAN_CHANGE_MEASURES), n).astype(object),
            "current": rng.normal(0, 1e6, n),
            "previous": rng.normal(0, 1e6, n),
        }
    )
    changes["change"] = changes["current"] - changes["previous"]
    changes["change_pct"] = np.nan
    _same(dashboards.change_summary(changes), ref_change_summary(changes))
    odd = changes.copy()
    odd.loc[[3, 9, 40], "current"] = np.nan
    odd.loc[[5], "previous"] = np.inf
    odd.loc[[6], "change"] = -np.inf
    odd.loc[odd["value_stream"] == "C", "previous"] = 0.0
    odd.loc[[7], "current"] = -0.0
    _same(dashboards.change_summary(odd), ref_change_summary(odd))
    tiny = changes.assign(current=rng.choice([1e16, 1.0, -1e16, 3.3], n))
    _same(dashboards.change_summary(tiny), ref_change_summary(tiny))
    not_str = changes.assign(value_stream=rng.choice([1, 2], n).astype(object))
    _same(dashboards.change_summary(not_str), ref_change_summary(not_str))
    unknown = changes.assign(measure=rng.choice(["demand", "other"], n).astype(object))
    _same(dashboards.change_summary(unknown), ref_change_summary(unknown))
    for empty in (changes.iloc[:0], None):
        _same(dashboards.change_summary(empty), ref_change_summary(empty))


def test_box_lookup_of_odd_frames():
    _, cur, _ = _plans(4)
    box = engine.box_score(cur)
    month = box["month"].iloc[0]
    columns = [("", "Company"), *((c, c) for c in sorted(set(cur.stream["value_stream"])))]
    odd = box.copy()
    odd.loc[0, "revenue"] = np.inf
    odd.loc[1, "revenue"] = -0.0
    odd.loc[2, "wape"] = np.nan
    repeated = pd.concat([odd, odd.iloc[:2].assign(revenue=7.0)], ignore_index=True)
    text_months = box.assign(month=box["month"].astype(str))
    as_object = box.assign(revenue=box["revenue"].astype(object))
    for frame in (odd, repeated, text_months, as_object):
        for m in (month, str(month)):
            _same_plain(
                dashboards._box_lookup(frame, m, columns), ref_box_lookup(frame, m, columns)
            )


def test_box_lookup_without_a_metric_fails_as_before():
    _, cur, _ = _plans(4)
    box = engine.box_score(cur).drop(columns="wape")
    month = box["month"].iloc[0]
    with pytest.raises(KeyError):
        ref_box_lookup(box, month, [("", "Company")])
    with pytest.raises(KeyError):
        dashboards._box_lookup(box, month, [("", "Company")])


def test_cell_keys_as_a_list_equal_the_series():
    changes = pd.DataFrame(
        {
            "value_stream": ["A", "B", None, "A", "A"],
            "product_family": ["A-1", np.nan, "B-1", "", "A-2"],
            "month": pd.array(
                [pd.Period("2027-01", "M"), pd.NaT, pd.Period("2027-03", "M")] * 2,
                dtype=pd.PeriodDtype("M"),
            )[:5],
        },
        index=[10, 4, 7, 1, 2],
    )
    old = ref_cell_keys(changes).tolist()
    new = approval._cell_key_list(changes)
    assert [None if isinstance(k, float) else k for k in old] == new
    assert approval._cell_key_list(changes.iloc[:0]) == []


# --------------------------------------------------------------------------- database


MONTH = dt.date(2027, 1, 1)
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
_PRINTED = re.compile(r"printed [^(]+\(")  # the clock's minute, not a number of the plan


@pytest.fixture
def review_world(db, monkeypatch):
    from planning.models import Assumption, Decision, PlanningCycle, PlanValue
    from tests.dashboard_data import build_company
    from tests.factories import DecisionFactory, UserFactory

    pin_day(monkeypatch, dt.datetime(2027, 1, 15, 11, tzinfo=dt.UTC))  # renders compared
    executive = UserFactory(username="exec", roles=["executive"])
    cycle = build_company(streams=3, families=6, month=MONTH)
    vs = PlanValue.objects.filter(cycle=cycle, measure="demand").select_related("value_stream")
    cells = list(vs.exclude(product_family=None)[:12])
    for i, cell in enumerate(cells[:4]):  # comments: those changes are explained
        PlanValue.objects.filter(pk=cell.pk).update(comment=f"why {i}")
    for i, cell in enumerate(cells[4:10]):
        Assumption.objects.create(
            cycle=cycle,
            value_stream=cell.value_stream,
            product_family=cell.product_family if i % 2 else None,
            measure="demand" if i % 3 else "production",
            first_month=cell.month,
            last_month=month_add(cell.month, 1),
            text=f"assumption {i}",
            status="open" if i != 5 else "confirmed",
            owner=executive if i % 2 else None,
            updated_by=executive if i == 1 else None,
        )
    DecisionFactory(cycle=cycle, text="Hire", status="open")
    assert Decision.objects.exists()
    return SimpleNamespace(
        cycle=cycle,
        executive=executive,
        frozen=PlanningCycle.objects.filter(status="approved").order_by("-month").first(),
    )


def test_assumptions_behind_and_open_items_equal_the_old_ones(review_world):
    from valuestreams.models import ValueStream

    cycle = review_world.cycle
    streams = list(ValueStream.objects.order_by("code"))
    for subset in (streams, streams[:1], streams[1:], None):
        for limit in (0, 1, 3, 8, 50):
            projections_forget()
            new = assumptions.assumptions_behind_biggest_changes(cycle, limit, value_streams=subset)
            projections_forget()
            old = ref_assumptions_behind(cycle, limit, value_streams=subset)
            _same_plain(new, old)
    assert old, "the world has assumptions behind changes"
    for measures in (assumptions.CHANGE_MEASURES, ["demand"], ["production"]):
        for subset in (streams, streams[:1], streams[1:], [], None):
            _same_index(
                assumptions._covering_index(cycle, measures, subset),
                ref_covering_index(cycle, measures, subset),
            )
    for c in (cycle, review_world.frozen):
        commented = approval._commented_demand_cells(c)
        assert commented == ref_commented_demand_cells(c)
        explained = assumptions.explained_demand_cells(cycle=c)
        assert explained == ref_explained_demand_cells(c)
        assert c != cycle or (commented and explained)
        new = approval.approval_open_items(cycle=c)
        old = ref_approval_open_items(cycle=c)
        for a, b in zip(new.groups, old.groups, strict=True):
            _same(a.frame, b.frame)
            assert (a.label, a.count) == (b.label, b.count)
            _same_plain(a.rows, b.rows)
        assert new.open_decisions == old.open_decisions
    assert new.total == old.total


REVIEW_URLS = (
    "/review/",
    "/review/?month=2027-03",
    "/review/?family=S01-F001",
    "/cycles/2026-12/review/",
)


def test_the_review_pages_are_byte_for_byte_the_old_ones(review_world, monkeypatch):
    """Each page by the new parts, then by the old ones, on one company (read only)."""
    client = Client()
    client.force_login(review_world.executive)

    def page(url: str) -> str:
        projections_forget()
        response = client.get(url)
        assert response.status_code == 200, url
        return _PRINTED.sub("printed (", _CSRF.sub("csrf", response.content.decode()))

    new = {url: page(url) for url in REVIEW_URLS}
    from planning import views
    from planning.selectors import dashboards as page_selectors

    monkeypatch.setattr(assumptions, "_family_changes", ref_family_changes)
    monkeypatch.setattr(dashboards, "change_summary", ref_change_summary)
    monkeypatch.setattr(dashboards, "_box_lookup", ref_box_lookup)
    monkeypatch.setattr(page_selectors, "approval_open_items", ref_approval_open_items)
    monkeypatch.setattr(
        views.dashboards, "assumptions_behind_biggest_changes", ref_assumptions_behind
    )
    for url in REVIEW_URLS:
        assert new[url] == page(url), url
        assert "Demand changes without an explanation" in new[url] or "frozen" in new[url].lower()


# --------------------------------------------------------------------------- box score


def _pandas_latest_per_stream(frame):
    return frame.sort_values(["value_stream", "month"]).groupby("value_stream").tail(1)


def ref_box_score(monkeypatch, *args):
    """The box score as ``trial`` computed it: the latest rows by sort and groupby, the
    company's by its sort, and the columns put in order by ``.loc``."""
    with monkeypatch.context() as m:
        m.setattr(engine, "_latest_per_stream", _pandas_latest_per_stream)
        m.setattr(engine, "_latest_row", lambda frame: None)
        return engine.box_score(*args).loc[:, list(engine.BOX_SCORE_COLUMNS)]


_MEASURED = ("value_stream", "month", "wape", "bias", "naive_wape", "baseline_wape")
_MEASURED += ("fva_statistics", "fva_consensus")


def _measured(rng, codes, *, company: bool, odd: str = ""):
    """Random accuracy-like rows per stream (or the company) and closed month."""
    months = pd.period_range("2026-01", periods=8, freq="M")
    rows = []
    for code in codes:
        for month in rng.choice(months, size=int(rng.integers(0, 6)), replace=False):
            rows.append((code, month, *rng.uniform(-1, 1, 6)))
    if odd == "ties" and rows:
        rows += [(rows[0][0], rows[0][1], *rng.uniform(-1, 1, 6)) for _ in range(2)]
    frame = pd.DataFrame(
        rows,
        columns=list(_MEASURED),
    )
    frame["month"] = pd.array(list(frame["month"]), dtype=pd.PeriodDtype("M"))
    frame = frame.sample(frac=1.0, random_state=int(rng.integers(100)))
    if odd == "nat" and len(frame):
        frame.loc[frame.index[0], "month"] = pd.NaT
    if odd == "none" and len(frame):
        frame["value_stream"] = frame["value_stream"].astype(object)
        frame.loc[frame.index[0], "value_stream"] = None
    if odd == "text":
        frame["month"] = frame["month"].astype(str)
    if company:
        frame = frame.drop(columns="value_stream")
        if odd != "ties":
            frame = frame.drop_duplicates("month")
    return frame


@pytest.mark.parametrize("odd", ["", "ties", "nat", "none", "text"])
@pytest.mark.parametrize("seed", range(8))
def test_box_score_equals_the_old_one(monkeypatch, seed, odd):
    _, cur, _ = _plans(seed)
    rng = np.random.default_rng(seed)
    codes = sorted(set(cur.stream["value_stream"]))
    accuracy = SimpleNamespace(
        stream=_measured(rng, [*codes, "GONE"], company=False, odd=odd),
        company=_measured(rng, [""], company=True, odd=odd if odd != "none" else ""),
    )
    fva = SimpleNamespace(monthly=_measured(rng, ["", *codes], company=False, odd=odd))
    heads = {c: (None if i % 3 == 2 else float(i + 1)) for i, c in enumerate(codes)}
    for args in ((cur,), (cur, accuracy, heads, fva), (cur, accuracy, {}, None)):
        new = engine.box_score(*args)
        assert list(new.columns) == list(engine.BOX_SCORE_COLUMNS)
        _same(new, ref_box_score(monkeypatch, *args))


# --------------------------------------------------------------------------- charts


def test_chart_axes_equal_the_old_ones():
    from planning import charts

    rng = np.random.default_rng(11)
    values = rng.normal(0, 1e5, 200)
    values[[1, 5, 9]] = np.nan
    values[[2, 6]] = [np.inf, -np.inf]
    values[[3, 7]] = [-0.0, 0.0]
    for series in (values, pd.Series(values), values.astype(np.float32), [1, 2, None], []):
        new = charts._y(series)
        old = [number_or_none(v) for v in np.asarray(series, dtype=float)]
        _same_plain(new, old)
    months = [
        *pd.period_range("2026-11", periods=30, freq="M"),
        "2027-01",
        pd.Timestamp("2027-02-15"),
        dt.date(2027, 3, 1),
        pd.Period("2027-04-09", "D"),
    ]
    for _ in range(2):  # the second time from the formatted months kept
        assert charts._x(months) == [pd.Period(m, "M").strftime("%Y-%m-01") for m in months]
        assert charts._x(pd.PeriodIndex(months[:30])) == charts._x(months[:30])


def ref_exception_rows(exceptions, cycle_label, *, limit=None):
    from planning.dashboards import (
        EXCEPTION_CELL_MEASURE,
        EXCEPTION_LABELS,
        exception_key,
        month_text,
    )
    from planning.links import grid_cell_url

    ex = exceptions if limit is None else exceptions.head(limit)
    cols = ["kind", "severity", "value_stream", "product_family", "month", "value", "limit"]
    cols += ["message"]
    distances = (
        ex["distance"].to_numpy(dtype=float) if "distance" in ex else np.full(len(ex), np.nan)
    )
    rows = []
    for (kind, sev, vs, pf, month, value, lim, msg), dist in zip(
        ex[cols].itertuples(index=False, name=None), distances.tolist(), strict=True
    ):
        m = month_text(month)
        measure = EXCEPTION_CELL_MEASURE.get(kind, "demand")
        rows.append(
            {
                "kind": kind,
                "key": exception_key(kind, vs, pf, m),
                "label": EXCEPTION_LABELS.get(kind, kind),
                "severity": int(sev),
                "value_stream": vs,
                "product_family": pf,
                "month": m,
                "value": number_or_none(value),
                "limit": number_or_none(lim),
                "distance": number_or_none(dist),
                "distance_unbounded": bool(np.isinf(dist)) if dist == dist else False,
                "message": msg,
                "url": grid_cell_url(cycle_label, vs, family=pf, month=m, measure=measure),
            }
        )
    return rows


@pytest.mark.parametrize("seed", range(12))
def test_exception_rows_equal_the_old_ones(seed):
    _check_exception_rows(seed)


def _check_exception_rows(seed: int) -> int:
    _, cur, prev = _plans(seed)
    ex = engine.exceptions(cur, prev, engine.Thresholds())
    odd = ex.copy()
    if len(odd):
        odd.loc[odd.index[0], "value"] = np.inf
        odd.loc[odd.index[-1], "limit"] = np.nan
        odd.loc[odd.index[0], "distance"] = -np.inf
        odd.loc[odd.index[-1], "month"] = pd.NaT
    for frame in (ex, odd, ex.drop(columns="distance"), ex.iloc[:0]):
        for limit in (None, 0, 3, 20):
            for label in ("2027-01", "2026-12"):
                _same_plain(
                    dashboards.exception_rows(frame, label, limit=limit),
                    ref_exception_rows(frame, label, limit=limit),
                )
    text = ex.assign(
        month=ex["month"].astype(str), value=ex["value"].astype(object), severity=ex["severity"]
    )
    _same_plain(dashboards.exception_rows(text, "x"), ref_exception_rows(text, "x"))
    return len(ex)


def test_the_random_plans_have_exceptions_to_compare():
    assert sum(_check_exception_rows(seed) for seed in range(12)) > 50


def ref_profit_by_stream(projection):
    st = projection.stream
    if not len(st):
        return pd.DataFrame()
    return st.pivot(index="month", columns="value_stream", values="value_stream_profit")


def _same_wide(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a, b, check_exact=True, check_index_type=True, check_column_type=True
    )
    assert type(a.index) is type(b.index) and type(a.columns) is type(b.columns)
    assert (a.index.name, a.columns.name) == (b.index.name, b.columns.name)
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    assert np.array_equal(x.view(np.int64), y.view(np.int64))


@pytest.mark.parametrize("seed", range(12))
def test_profit_by_stream_equals_the_pivot(seed):
    _, cur, prev = _plans(seed)
    for proj in (cur, prev):
        _same_wide(dashboards.profit_by_stream(proj), ref_profit_by_stream(proj))
        st = proj.stream
        shuffled = st.sample(frac=1.0, random_state=seed)
        gaps = st.iloc[::2]
        for frame in (shuffled, gaps, st.assign(value_stream_profit=-0.0)):
            other = engine.Projection(family=proj.family, stream=frame, company=proj.company)
            _same_wide(dashboards.profit_by_stream(other), ref_profit_by_stream(other))
        if len(st):
            repeated = engine.Projection(
                family=proj.family, stream=pd.concat([st, st.iloc[:1]]), company=proj.company
            )
            with pytest.raises(ValueError):
                dashboards.profit_by_stream(repeated)
