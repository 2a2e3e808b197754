"""Cleared cells stay as tombstones (value NULL) so their versions never restart.

Reversible: going back removes the tombstones first (the old schema has no place for
them; their history stays in PlanValueChange).
"""

from django.conf import settings
from django.db import migrations, models


def tombstones_remove(apps, schema_editor):
    apps.get_model("planning", "PlanValue").objects.filter(value__isnull=True).delete()



class Migration(migrations.Migration):

    dependencies = [
        ('planning', '0006_cycle_master_copies'),
        ('valuestreams', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='planvalue',
            name='value',
            field=models.DecimalField(blank=True, decimal_places=6, help_text='NULL: cleared.', max_digits=20, null=True),
        ),
        migrations.AddConstraint(
            model_name='planvalue',
            constraint=models.CheckConstraint(condition=models.Q(('value__isnull', False), ('version__gte', 2), _connector='OR'), name='planvalue_null_only_tombstone'),
        ),
        # Runs first when going back: the NOT NULL column cannot hold tombstones.
        migrations.RunPython(migrations.RunPython.noop, tombstones_remove),
    ]
