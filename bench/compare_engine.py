"""Compare this checkout's engine with the engine of a git revision, frame by frame.

Run from the repo root: ``python bench/compare_engine.py [REV]`` (default ``main``). It
loads ``planning/engine.py`` as it is at REV (``git show``) beside the working copy and
runs both on generated plans — random sizes and edge cases: unknown, missing (None /
NaN) and numeric codes, duplicate rows, months outside the horizon, NaN values, unknown
measures, unsorted master data, ``str`` and object code columns, development hours,
empty inputs — then checks that ``project``, ``export_frame``, ``computed_frame``,
``box_score``, ``exceptions``, ``plan_changes`` and ``family_demand_changes`` give the
same frames exactly (values bit for bit, NaN where NaN, dtypes, index). A speed-up of
the engine must leave this script silent; it exits 1 naming the first difference.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from planning import engine as new  # noqa: E402

MEASURES = (
    "demand",
    "production",
    "actual_sales",
    "opening_inventory",
    "statistical_baseline",
    "available_hours",
    "non_productive_hours",
    "conversion_cost",
    "sustaining_cost",
)


def engine_at(rev: str):
    """The module ``planning/engine.py`` as it is at ``rev``."""
    text = subprocess.run(
        ["git", "show", f"{rev}:planning/engine.py"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="sofp-engine-")) / "engine_reference.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("engine_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def random_plan(rng: np.random.Generator, case: int):
    """A plan of random size with one kind of trouble chosen by ``case``."""
    n_stream = int(rng.integers(0 if case % 11 == 0 else 1, 6))
    n_fam = int(rng.integers(0 if case % 7 == 0 else 1, 40)) if n_stream else 0
    horizon = int(rng.integers(3, 37))
    start = pd.Period("2027-01", "M") + int(rng.integers(-3, 4))
    streams = [f"S{i}" for i in range(n_stream)]
    fam_vs = [streams[int(rng.integers(n_stream))] for _ in range(n_fam)]
    fam_pf = [f"F{i:03d}" for i in range(n_fam)]
    master = pd.DataFrame(
        {
            "value_stream": fam_vs,
            "product_family": fam_pf,
            "unit_price": rng.uniform(1, 100, n_fam).round(2),
            "unit_material_cost": rng.uniform(1, 50, n_fam).round(2),
            "hours_per_unit": rng.uniform(0, 2, n_fam).round(3),
            "dos_min": 10.0,
            "dos_max": 30.0,
        }
    )
    if n_fam:
        master = master.sort_values(["value_stream", "product_family"], ignore_index=True)
        if case % 3 == 1:  # unsorted, as a caller may pass it
            master = master.sample(frac=1.0, random_state=case).reset_index(drop=True)
    n_rows = 0 if case % 13 == 0 else int(rng.integers(1, 4000))
    fam_pick = rng.integers(max(n_fam, 1), size=n_rows)
    if case % 3 != 2:  # grouped by family, as the database and files give them
        fam_pick = np.sort(fam_pick)
    measure = rng.choice(np.array((*MEASURES, "bogus"), dtype=object), size=n_rows)
    if case % 5 != 2:  # mostly demand and production, as real plans are
        common = rng.random(n_rows) < 0.9
        measure[common] = np.where(rng.random(int(common.sum())) < 0.5, "demand", "production")
    vs = np.array([fam_vs[i] if n_fam else "S0" for i in fam_pf_idx(fam_pick, n_fam)], object)
    pf = np.array([fam_pf[i] if n_fam else "" for i in fam_pf_idx(fam_pick, n_fam)], object)
    stream_level = np.isin(measure, ("available_hours", "non_productive_hours", "conversion_cost"))
    pf[stream_level] = ""
    if n_stream:
        vs[stream_level] = np.array(streams, object)[rng.integers(n_stream, size=n_rows)][
            stream_level
        ]
    company = measure == "sustaining_cost"
    vs[company], pf[company] = "", ""
    offset = rng.integers(-4, horizon + 4, size=n_rows)
    month = pd.PeriodIndex.from_ordinals(start.ordinal + offset, freq="M")
    value = rng.uniform(0, 1000, n_rows).round(1)
    if case % 4 == 3:  # NaN values, unknown and missing codes, wrong streams
        value[rng.random(n_rows) < 0.05] = np.nan
        vs[rng.random(n_rows) < 0.03] = "NOPE"
        pf[rng.random(n_rows) < 0.03] = "F999"
        vs[rng.random(n_rows) < 0.02] = None
        pf[rng.random(n_rows) < 0.02] = np.nan
    values = pd.DataFrame(
        {
            "value_stream": vs,
            "product_family": pf,
            "month": month,
            "measure": measure,
            "value": value,
        }
    )
    if n_rows and case % 6 == 5:  # duplicate rows add up
        values = pd.concat([values, values.iloc[: n_rows // 3]], ignore_index=True)
    if case % 2 == 0:
        for c in ("value_stream", "product_family"):
            values[c] = values[c].astype("str")
    if case % 17 == 4 and n_fam:  # numeric family codes (1001 reads as "1001")
        master["product_family"] = [str(1000 + i) for i in range(n_fam)]
        values["product_family"] = [
            1000 + int(p[1:]) if isinstance(p, str) and p[1:].isdigit() else p
            for p in values["product_family"]
        ]
    dev = None
    if n_stream and case % 3 == 0:
        k = 20
        dev = pd.DataFrame(
            {
                "value_stream": np.array([*streams, "NOPE"], object)[
                    rng.integers(n_stream + 1, size=k)
                ],
                "month": pd.PeriodIndex.from_ordinals(
                    start.ordinal + rng.integers(-2, horizon + 2, size=k), freq="M"
                ),
                "hours": rng.uniform(0, 100, k),
            }
        )
    extra = ("XTRA",) if case % 9 == 8 else ()
    return dict(
        start=start,
        horizon=horizon,
        master=master,
        values=values,
        value_streams=extra,
        development_hours=dev,
    )


def fam_pf_idx(pick: np.ndarray, n_fam: int) -> list[int]:
    return [int(i) for i in pick] if n_fam else [0] * len(pick)


def same(name: str, a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    """None when the frames are identical (dtypes, index, bits), else what differs."""
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    except AssertionError as exc:
        return f"{name}: {exc}"
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f" and not np.array_equal(x.view(np.int64), y.view(np.int64)):
            return f"{name}.{col}: same values but different bits (e.g. -0.0 / NaN payload)"
    return None


def compare(old, case: int) -> str | None:
    rng = np.random.default_rng(case)
    kw = random_plan(rng, case)
    results = []
    for mod in (old, new):
        plan = mod.PlanInput(**{k: (v.copy() if hasattr(v, "copy") else v) for k, v in kw.items()})
        try:
            proj = mod.project(plan)
        except ValueError as exc:
            results.append(("error", str(exc)))
            continue
        prev = mod.project(
            mod.PlanInput(**{**kw, "values": kw["values"].iloc[::2].reset_index(drop=True)})
        )
        results.append(
            {
                "family": proj.family,
                "stream": proj.stream,
                "company": proj.company,
                "export": mod.export_frame(proj),
                "computed": mod.computed_frame(proj),
                "box_score": mod.box_score(proj),
                "exceptions": mod.exceptions(proj, previous=prev),
                "plan_changes": mod.plan_changes(proj, prev),
                "family_demand_changes": mod.family_demand_changes(proj, prev),
            }
        )
    a, b = results
    if isinstance(a, tuple) or isinstance(b, tuple):
        return None if a == b else f"case {case}: {a!r} vs {b!r}"
    for name in a:
        problem = same(name, a[name], b[name])
        if problem:
            return f"case {case}: {problem}"
    return None


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "main"
    old = engine_at(rev)
    cases = range(int(sys.argv[2]) if len(sys.argv) > 2 else 120)
    failures = [msg for case in cases if (msg := compare(old, case))]
    for msg in failures[:5]:
        print(msg)
    print(f"{len(cases) - len(failures)} of {len(cases)} generated plans identical to {rev}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
