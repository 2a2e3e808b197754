"""Company-wide roles as auth groups, and the five step templates."""

from django.db import migrations

ROLES = ("executive", "finance", "sales", "product")


def forwards(apps, schema_editor):
    from planning.models import STEPS

    Group = apps.get_model("auth", "Group")
    StepTemplate = apps.get_model("planning", "StepTemplate")
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    for spec in STEPS:
        StepTemplate.objects.update_or_create(
            number=spec.number,
            defaults={"name": spec.name, "owner_role": str(spec.owner_role), "agenda": spec.agenda},
        )


def backwards(apps, schema_editor):
    apps.get_model("planning", "StepTemplate").objects.all().delete()
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
