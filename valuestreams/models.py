"""Value streams, their product families, and who belongs to which stream."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$",
    "Use letters, digits, '-', '_' or '.', starting with a letter or digit (max 40).",
)


class ValueStream(models.Model):
    class Kind(models.TextChoices):
        ORDER_FULFILMENT = "order_fulfilment", "Order fulfilment"
        NEW_PRODUCT_DEVELOPMENT = "npd", "New product development"
        OTHER = "other", "Other"

    code = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ORDER_FULFILMENT)
    serves = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="served_by",
        help_text="For a new product development stream: the streams it serves.",
    )
    headcount = models.PositiveIntegerField(
        null=True, blank=True, help_text="People in the stream (for revenue per person)."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["order_fulfilment", "npd", "other"]),
                name="valuestream_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class ProductFamily(models.Model):
    code = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    value_stream = models.ForeignKey(ValueStream, on_delete=models.PROTECT, related_name="families")
    unit_price = models.DecimalField(max_digits=16, decimal_places=4)
    unit_material_cost = models.DecimalField(max_digits=16, decimal_places=4)
    hours_per_unit = models.DecimalField(max_digits=12, decimal_places=6)
    dos_min = models.DecimalField(
        "days of supply min", max_digits=8, decimal_places=2, default=Decimal("10")
    )
    dos_max = models.DecimalField(
        "days of supply max", max_digits=8, decimal_places=2, default=Decimal("30")
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["value_stream__code", "code"]
        verbose_name_plural = "product families"
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="family_unit_price_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(unit_material_cost__gte=0), name="family_material_cost_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(hours_per_unit__gte=0), name="family_hours_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(dos_min__gte=0) & Q(dos_max__gte=F("dos_min")),
                name="family_dos_band_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def clean(self) -> None:
        if self.dos_min is not None and self.dos_max is not None and self.dos_max < self.dos_min:
            raise ValidationError({"dos_max": "Must be at least the days-of-supply minimum."})


# What people see and edit of a family (admin list, API), in this order.
FAMILY_FIELDS = (
    "code",
    "name",
    "value_stream",
    "unit_price",
    "unit_material_cost",
    "hours_per_unit",
    "dos_min",
    "dos_max",
    "active",
)


class Membership(models.Model):
    """A user's role in one value stream; planners and managers may edit its plan."""

    class Role(models.TextChoices):
        PLANNER = "planner", "Planner"
        MANAGER = "manager", "Value stream manager"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    value_stream = models.ForeignKey(
        ValueStream, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.PLANNER)

    class Meta:
        ordering = ["value_stream__code", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "value_stream"], name="membership_one_per_user_and_stream"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["planner", "manager", "viewer"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.value_stream.code} as {self.get_role_display()}"

    @property
    def can_edit(self) -> bool:
        return self.role in (self.Role.PLANNER, self.Role.MANAGER)
