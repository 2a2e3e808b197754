"""The company settings row exists from the start, so reading it never has to create it.

Reversible: going back leaves the row alone (it may hold the company's real settings).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    Company = apps.get_model("planning", "Company")
    if not Company.objects.exists():
        Company.objects.create(reminder_hours_before=[24, 2])


class Migration(migrations.Migration):
    dependencies = [("planning", "0003_i5_reminder_lease")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
