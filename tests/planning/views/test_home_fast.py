"""The home page reads its steps and streams with SQL compiled once: the same instances
as the querysets, and the same page byte for byte."""

from __future__ import annotations

import pytest
from django.db.models import Count

from planning.selectors.home import cycle_steps, streams_with_family_counts
from tests.factories import ProductFamilyFactory, ValueStreamFactory
from tests.planning.views.test_page_frame import _page, _users, world  # noqa: F401
from valuestreams.selectors import value_streams_visible

ROLES = ["executive", "finance", "sales", "planner", "manager", "admin", "no stream"]


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _families(stream_a, stream_b):
    ProductFamilyFactory(code="A-1", value_stream=stream_a)
    ProductFamilyFactory(code="A-2", value_stream=stream_a, active=False)
    ProductFamilyFactory(code="B-1", value_stream=stream_b)
    ValueStreamFactory(code="OLD", name="Inactive", active=False)


@pytest.mark.parametrize("role", ROLES)
def test_the_prepared_reads_equal_the_querysets(world, stream_a, stream_b, role):  # noqa: F811
    _families(stream_a, stream_b)
    user = _users(stream_a)[role]
    expected = list(value_streams_visible(user=user).annotate(family_count=Count("families")))
    got = streams_with_family_counts(user)
    assert [(_fields(s), s.family_count) for s in got] == [
        (_fields(s), s.family_count) for s in expected
    ]
    assert any(s.family_count == 2 for s in got) or role == "no stream"
    steps = cycle_steps(world)
    assert [_fields(s) for s in steps] == [_fields(s) for s in world.steps.order_by("number")]
    assert [s.number for s in steps] == [1, 2, 3, 4, 5]
    assert all(s.cycle is world for s in steps)


@pytest.mark.parametrize("role", ROLES)
def test_home_is_byte_for_byte_the_querysets_page(
    client,
    world,  # noqa: F811
    stream_a,
    stream_b,
    role,
    monkeypatch,
):
    from planning.views import home

    _families(stream_a, stream_b)
    client.force_login(_users(stream_a)[role])
    new = _page(client, "/")
    monkeypatch.setattr(home, "cycle_steps", lambda cycle: list(cycle.steps.order_by("number")))
    monkeypatch.setattr(
        home,
        "streams_with_family_counts",
        lambda user: list(
            value_streams_visible(user=user).annotate(family_count=Count("families"))
        ),
    )
    old = _page(client, "/")
    assert new == old
    assert b"The five steps" in new


def test_home_without_a_cycle(client, stream_a):
    client.force_login(_users(stream_a)["executive"])
    assert b"No planning cycle yet" in _page(client, "/")
