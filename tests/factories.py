"""factory-boy factories for test data; every test builds only what it needs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from planning.models import Decision, PlanningCycle, PlanValue
from planning.services.cycles import cycle_create
from valuestreams.models import Membership, ProductFamily, ValueStream

PASSWORD = "test-pass-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs) -> None:
        if create and extracted:
            for role in extracted:
                self.groups.add(Group.objects.get_or_create(name=role)[0])
        if create:
            self.save()


class ValueStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ValueStream
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"VS{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Value stream {o.code}")
    kind = ValueStream.Kind.ORDER_FULFILMENT


class ProductFamilyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductFamily
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"FAM{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Family {o.code}")
    value_stream = factory.SubFactory(ValueStreamFactory)
    unit_price = Decimal("100")
    unit_material_cost = Decimal("40")
    hours_per_unit = Decimal("0.5")
    dos_min = Decimal("10")
    dos_max = Decimal("30")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    value_stream = factory.SubFactory(ValueStreamFactory)
    role = Membership.Role.PLANNER


class CycleFactory(factory.django.DjangoModelFactory):
    """A cycle with its five scheduled steps (through the service, as the app does)."""

    class Meta:
        model = PlanningCycle

    month = dt.date(2027, 1, 1)
    horizon = 18

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        status = kwargs.pop("status", "draft")
        cycle = cycle_create(month=kwargs["month"], horizon=kwargs.get("horizon", 18))
        if status != "draft":
            from django.utils import timezone

            cycle.status = status
            if status == "approved":
                from planning.services.cycle_master import cycle_master_fill

                cycle_master_fill(cycle=cycle)  # as approval does
                cycle.approved_at = timezone.now()
            cycle.save()
        return cycle


class PlanValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanValue

    cycle = factory.SubFactory(CycleFactory)
    product_family = factory.SubFactory(ProductFamilyFactory)
    value_stream = factory.LazyAttribute(lambda o: o.product_family.value_stream)
    month = factory.LazyAttribute(lambda o: o.cycle.month)
    measure = "demand"
    value = Decimal("100")


class DecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Decision

    cycle = factory.SubFactory(CycleFactory)
    text = factory.Sequence(lambda n: f"Decision {n}")
    owner = factory.SubFactory(UserFactory)
    due_date = dt.date(2027, 1, 20)


def decision_recorded(cycle, user, *, owner=None, text="Do it", due=dt.date(2027, 2, 1), step=5):
    """A decision recorded through the service (rights, validation and audit included)."""
    from planning.services.decisions import decision_create

    return decision_create(
        cycle=cycle, user=user, text=text, owner=owner or user, due_date=due, step_number=step
    )
