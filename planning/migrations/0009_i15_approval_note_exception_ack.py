# Approval note on the cycle; acknowledged step-5 exceptions per cycle; what a
# notification is about, so it clears when its cause ends (issue 15).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0008_comment_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="company",
            name="currency",
            field=models.CharField(
                default="EUR",
                help_text="ISO code shown on every money figure, e.g. EUR.",
                max_length=3,
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="step",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="planning.cyclestep",
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="decision",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="planning.decision",
            ),
        ),
        migrations.AddField(
            model_name="planningcycle",
            name="approval_note",
            field=models.TextField(
                blank=True, help_text="What the executives noted when they approved (step 5)."
            ),
        ),
        migrations.CreateModel(
            name="ExceptionAcknowledgement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("note", models.TextField(blank=True)),
                ("acknowledged_at", models.DateTimeField()),
                (
                    "acknowledged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "cycle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="exception_acknowledgements",
                        to="planning.planningcycle",
                    ),
                ),
            ],
            options={
                "ordering": ["cycle", "key"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("cycle", "key"), name="exception_ack_unique_key"
                    )
                ],
            },
        ),
    ]
