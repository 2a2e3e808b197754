"""Issue 21 (branch pgimport): fewer index entries per history row, HOT updates of cells.

The plan's history (scenario NULL) and an operator's import (changed_by NULL) are the
rows an import writes by the tens of thousands; their foreign-key indexes now hold only
the rows that are set, which are all any lookup (a scenario's history, deleting a
scenario or a user) ever reads. Every foreign key stays.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# A whole-plan re-import updates every cell once. With half of each page left free,
# the new version of a row fits on its page and the update is "HOT": no new entry in
# any of the table's indexes (none covers value, version, who or when). PostgreSQL
# only; pages written before keep their fill until the table is rewritten.
PLANVALUE_FILLFACTOR = 50


def _fillfactor(value: int | None):
    def apply(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("planning", "PlanValue")._meta.db_table)
        if value is None:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")
        else:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0018_perfimport_lean_planvalue"),
        ("valuestreams", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_fillfactor(PLANVALUE_FILLFACTOR), _fillfactor(None)),
        migrations.AlterField(
            model_name="planvaluechange",
            name="changed_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="planvaluechange",
            name="scenario",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="NULL: the plan itself.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="planning.scenario",
            ),
        ),
        migrations.AddIndex(
            model_name="planvaluechange",
            index=models.Index(
                condition=models.Q(("scenario__isnull", False)),
                fields=["scenario"],
                name="change_scenario",
            ),
        ),
        migrations.AddIndex(
            model_name="planvaluechange",
            index=models.Index(
                condition=models.Q(("changed_by__isnull", False)),
                fields=["changed_by"],
                name="change_changed_by",
            ),
        ),
    ]
