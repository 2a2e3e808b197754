"""Benchmark the REST API on a fresh database (Django test client, token auth).

Run from the repo root: ``python bench/bench_api.py``. Builds a fresh database
(``bench/harness.py``: SQLite, or PostgreSQL when ``DATABASE_URL`` names one; 160
families; cycles 2027-01..03, 18 months each), then prints the median and p95 of
* ``GET /api/v1/cycles/2027-01/plan-values/?page_size=1000`` (target: ≤ 30 ms median),
* a bulk upsert of 5,000 rows, creating and then changing cells (target: < 2 s),
* the CSV export and the box score, for reference.
It reports, it never fails.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))
from harness import bench_database, row  # noqa: E402

DATABASE = bench_database("api")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sofp.settings")

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from planning.calendar import month_add  # noqa: E402
from planning.services.cycles import cycle_create  # noqa: E402
from valuestreams.models import ProductFamily, ValueStream  # noqa: E402

N_FAMILIES = 160
LIST_TARGET_MS = 30.0
UPSERT_TARGET_MS = 2000.0


def months(start: dt.date, n: int) -> list[str]:
    return [f"{month_add(start, i):%Y-%m}" for i in range(n)]


CPU: list[float] = []  # CPU time of the calls of the last ``timed`` (ms)


def timed(fn, runs: int) -> list[float]:
    times = []
    CPU.clear()
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        CPU.append((time.process_time() - c0) * 1000)
    return times


def report(name: str, times: list[float], target: float | None = None, note: str = "") -> None:
    row(f"API {name}", times, target=target, note=note)


def main() -> None:
    call_command("migrate", verbosity=0)
    admin = get_user_model().objects.create_superuser("bench", "b@example.com", "x")
    token = Token.objects.create(user=admin).key
    vs = ValueStream.objects.create(code="BENCH", name="Bench")
    ProductFamily.objects.bulk_create(
        ProductFamily(
            code=f"F{i:03d}",
            name=f"Family {i}",
            value_stream=vs,
            unit_price=Decimal("100"),
            unit_material_cost=Decimal("40"),
            hours_per_unit=Decimal("0.5"),
        )
        for i in range(N_FAMILIES)
    )
    for m in (1, 2, 3):
        cycle_create(month=dt.date(2027, m, 1), horizon=18)
    horizon = months(dt.date(2027, 3, 1), 16)  # inside the horizon of all three cycles
    cells = [
        (f"F{i:03d}", m, measure)
        for i in range(N_FAMILIES)
        for m in horizon
        for measure in ("demand", "production")
    ][:5000]
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    url = "/api/v1/cycles/2027-01/plan-values/"

    def body(offset: int, with_versions: bool) -> str:
        rows = [
            {
                "value_stream": "BENCH",
                "product_family": f,
                "month": m,
                "measure": measure,
                "value": str(100 + offset + i % 7),
                **({"version": offset} if with_versions else {}),
            }
            for i, (f, m, measure) in enumerate(cells)
        ]
        return json.dumps(rows)

    def upsert(payload: str, cycle: str = "2027-01") -> None:
        response = client.post(
            f"/api/v1/cycles/{cycle}/plan-values/bulk/", payload, content_type="application/json"
        )
        assert response.status_code == 200, response.content[:500]

    client.get("/api/v1/cycles/")  # warm up (imports, first connection)
    payloads = [body(0, True)] + [body(k, True) for k in range(1, 6)]
    targets = iter(["2027-02", "2027-03", "2027-01"])
    create = timed(lambda: upsert(payloads[0], next(targets)), 3)
    change_iter = iter(payloads[1:])
    change = timed(lambda: upsert(next(change_iter)), 5)
    same = timed(lambda: upsert(payloads[-1].replace('"version": 5', '"version": 6')), 3)

    def page() -> None:
        response = client.get(url + "?page_size=1000&page=2")
        assert response.status_code == 200 and len(response.json()["results"]) == 1000

    page()
    list_times = timed(page, 30)
    list_cpu = f"cpu {statistics.median(CPU):.2f} ms"  # this process: client + server

    def export() -> None:
        assert client.get("/api/v1/cycles/2027-01/export/?format=csv").status_code == 200

    def box() -> None:
        assert client.get("/api/v1/cycles/2027-01/box-score/").status_code == 200

    print(f"{DATABASE.backend} database; {len(cells)} rows per upsert")
    report("GET plan values, page of 1,000 rows", list_times, LIST_TARGET_MS, list_cpu)
    report("POST bulk upsert 5,000 rows (create)", create, UPSERT_TARGET_MS)
    report("POST bulk upsert 5,000 rows (change, versions)", change, UPSERT_TARGET_MS)
    report("POST bulk upsert 5,000 rows (unchanged)", same, UPSERT_TARGET_MS)
    report("GET export csv (inputs + computed)", timed(export, 10))
    report("GET box score", timed(box, 10))


if __name__ == "__main__":
    main()
