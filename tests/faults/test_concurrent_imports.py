"""Two imports of the same cycle at once: they meet on the cells (row locks, and the unique
key of a new cell, after which the second import runs again and finds the first one's
cells) and the result equals one import — never a mix of both files."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from planning.imports import parse_plan
from planning.models import PlanValue, PlanValueChange
from planning.services.plan_import import plan_import
from tests.factories import ProductFamilyFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
HEADER = "value_stream,product_family,month,measure,value\n"


def _file(families, months, value: int) -> bytes:
    lines = [
        f"A,{f.code},{m:%Y-%m},{measure},{value}"
        for f in families
        for m in months
        for measure in ("demand", "production")
    ]
    return (HEADER + "\n".join(lines) + "\n").encode()


def _run_together(cycle, files: list[bytes]) -> list[object]:
    results: list[object] = [None] * len(files)
    start = threading.Barrier(len(files))

    def worker(i: int, data: bytes) -> None:
        try:
            parsed = parse_plan(data=data, filename="plan.csv")
            start.wait()
            results[i] = plan_import(
                cycle=cycle, rows=parsed.rows, user=None, parse_errors=parsed.errors
            )
        except Exception as exc:  # refused is acceptable; the assertions below decide
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, d)) for i, d in enumerate(files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture
def many_families(stream_a, cycle):
    return [ProductFamilyFactory(code=f"A-{i:02d}", value_stream=stream_a) for i in range(12)]


@pytest.mark.django_db(transaction=True)
def test_the_same_file_imported_twice_at_once_equals_one_import(
    postgres_only, cycle, many_families
):
    months = cycle.horizon_months()
    data = _file(many_families, months, 100)
    cells = len(many_families) * len(months) * 2
    results = _run_together(cycle, [data, data])

    assert not [r for r in results if isinstance(r, Exception)], results
    added = sorted(r.added for r in results)
    unchanged = sorted(r.unchanged for r in results)
    assert added == [0, cells]  # one wrote everything, the other found it all there
    assert unchanged == [0, cells]
    assert PlanValue.objects.filter(cycle=cycle).count() == cells
    assert PlanValueChange.objects.filter(cycle=cycle).count() == cells
    assert set(PlanValue.objects.values_list("version", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_two_different_files_at_once_leave_one_file_whole_never_a_mix(
    postgres_only, cycle, many_families
):
    months = cycle.horizon_months()
    results = _run_together(
        cycle, [_file(many_families, months, 100), _file(many_families, months, 200)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    values = set(PlanValue.objects.filter(cycle=cycle).values_list("value", flat=True))
    assert values in ({Decimal("100")}, {Decimal("200")})  # the later import, whole
    versions = set(PlanValue.objects.values_list("version", flat=True))
    assert versions == {2}  # each cell: written by the first, changed by the second
