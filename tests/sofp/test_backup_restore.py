"""The restore drill of docs/operations.md: dump, wipe, restore, and the plan is identical."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.management import call_command

from planning import engine
from planning.demo import demo_load
from planning.models import PlanningCycle, PlanValue, PlanValueChange
from planning.selectors.plans import cycle_projection
from tests.migration_data import restore_migration_data

DUMP_ARGS = [
    "--natural-foreign",
    "--natural-primary",
    "--exclude=contenttypes",
    "--exclude=auth.permission",
    "--exclude=sessions",
    "--exclude=admin.logentry",
    "--exclude=axes",
]


def _exports() -> dict[str, pd.DataFrame]:
    return {
        c.label: engine.export_frame(cycle_projection(cycle=c))
        for c in PlanningCycle.objects.order_by("month")
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_dump_wipe_restore_gives_the_same_export(tmp_path):
    restore_migration_data()
    demo_load()
    before = _exports()
    counts = (PlanValue.objects.count(), PlanValueChange.objects.count())
    assert len(before) == 13 and counts[0] > 1000

    dump = tmp_path / "sofp.json"
    call_command("dumpdata", *DUMP_ARGS, "--output", str(dump), verbosity=0)

    call_command("flush", "--no-input", verbosity=0)
    assert PlanValue.objects.count() == 0
    assert PlanningCycle.objects.count() == 0

    call_command("loaddata", str(dump), verbosity=0)

    after = _exports()
    assert (PlanValue.objects.count(), PlanValueChange.objects.count()) == counts
    assert before.keys() == after.keys()
    for label, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[label], check_exact=True, obj=label)
    # The restored database takes new writes (ids do not collide).
    assert demo_load() and PlanValue.objects.count() == counts[0]
