"""Every existing cycle gets its master copy: the master as it is now (the best record
of what its plan was made with). Reversible: going back removes the copies (the cycles
then read the live master again, as they did before).
"""

from django.db import migrations

FAMILY_FIELDS = ("unit_price", "unit_material_cost", "hours_per_unit", "dos_min", "dos_max")


def forwards(apps, schema_editor):
    PlanningCycle = apps.get_model("planning", "PlanningCycle")
    CycleFamily = apps.get_model("planning", "CycleFamily")
    CycleValueStream = apps.get_model("planning", "CycleValueStream")
    ProductFamily = apps.get_model("valuestreams", "ProductFamily")
    ValueStream = apps.get_model("valuestreams", "ValueStream")
    families = list(ProductFamily.objects.all())
    streams = list(ValueStream.objects.all())
    for cycle in PlanningCycle.objects.all():
        CycleFamily.objects.bulk_create(
            [
                CycleFamily(
                    cycle=cycle,
                    product_family_id=f.pk,
                    value_stream_id=f.value_stream_id,
                    active=f.active,
                    **{name: getattr(f, name) for name in FAMILY_FIELDS},
                )
                for f in families
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        CycleValueStream.objects.bulk_create(
            [
                CycleValueStream(
                    cycle=cycle, value_stream_id=s.pk, active=s.active, headcount=s.headcount
                )
                for s in streams
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )


def backwards(apps, schema_editor):
    apps.get_model("planning", "CycleFamily").objects.all().delete()
    apps.get_model("planning", "CycleValueStream").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0005_cycle_master"),
        ("valuestreams", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
