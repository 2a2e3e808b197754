from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tests.factories import MembershipFactory, ProductFamilyFactory, UserFactory, ValueStreamFactory
from valuestreams.models import Membership

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["unit_price", "unit_material_cost", "hours_per_unit", "dos_min"])
def test_family_rejects_negative_master_data_in_the_database(field):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFamilyFactory(**{field: Decimal("-1")})


def test_family_rejects_dos_max_below_dos_min():
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFamilyFactory(dos_min=Decimal("20"), dos_max=Decimal("10"))


def test_family_code_is_unique():
    ProductFamilyFactory(code="X")
    vs = ValueStreamFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(vs).objects.model  # noqa: B018
        from valuestreams.models import ProductFamily

        ProductFamily.objects.create(
            code="X",
            name="dup",
            value_stream=vs,
            unit_price=1,
            unit_material_cost=1,
            hours_per_unit=1,
        )


def test_one_membership_per_user_and_stream():
    user, vs = UserFactory(), ValueStreamFactory()
    MembershipFactory(user=user, value_stream=vs)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, value_stream=vs, role="viewer")


def test_npd_stream_serves_several_streams():
    npd = ValueStreamFactory(code="NPD", kind="npd")
    a, b = ValueStreamFactory(code="A"), ValueStreamFactory(code="B")
    npd.serves.add(a, b)
    assert set(a.served_by.all()) == {npd}
    assert set(npd.serves.values_list("code", flat=True)) == {"A", "B"}
