"""Copy the ``actual_sales`` kept in each cycle's plan into the actuals store: one fact
per family and month, the newest cycle's value winning. Reversing removes the copied
facts (the plan values were never touched)."""

from django.db import migrations


def forward(apps, schema_editor):
    PlanValue = apps.get_model("planning", "PlanValue")
    Actual = apps.get_model("planning", "Actual")
    ActualChange = apps.get_model("planning", "ActualChange")
    newest: dict[tuple, object] = {}
    rows = (
        PlanValue.objects.filter(
            measure="actual_sales", product_family__isnull=False, value__isnull=False
        )
        .order_by("cycle__month", "pk")
        .values_list("value_stream_id", "product_family_id", "month", "value", "updated_by_id")
    )
    for stream, family, month, value, who in rows.iterator():
        newest[(family, month)] = (stream, value, who)
    existing = set(
        Actual.objects.filter(measure="actual_sales").values_list("product_family_id", "month")
    )
    new = [
        Actual(
            value_stream_id=stream,
            product_family_id=family,
            month=month,
            measure="actual_sales",
            value=value,
            version=1,
            updated_by_id=who,
        )
        for (family, month), (stream, value, who) in newest.items()
        if (family, month) not in existing
    ]
    Actual.objects.bulk_create(new, batch_size=1000)
    created = Actual.objects.filter(measure="actual_sales").exclude(
        pk__in=ActualChange.objects.filter(actual__isnull=False).values("actual_id")
    )
    ActualChange.objects.bulk_create(
        [
            ActualChange(
                actual_id=a.pk,
                value_stream_id=a.value_stream_id,
                product_family_id=a.product_family_id,
                month=a.month,
                measure=a.measure,
                old_value=None,
                new_value=a.value,
                version=1,
                source="migration",
                changed_by_id=a.updated_by_id,
            )
            for a in created
        ],
        batch_size=1000,
    )


def backward(apps, schema_editor):
    Actual = apps.get_model("planning", "Actual")
    ActualChange = apps.get_model("planning", "ActualChange")
    ids = list(
        ActualChange.objects.filter(source="migration", actual__isnull=False).values_list(
            "actual_id", flat=True
        )
    )
    ActualChange.objects.filter(source="migration").delete()
    Actual.objects.filter(pk__in=ids).delete()


class Migration(migrations.Migration):
    dependencies = [("planning", "0009_actuals")]

    operations = [migrations.RunPython(forward, backward)]
