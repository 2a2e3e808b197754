"""What the home page reads — the current cycle's steps, the visible streams with their
family counts — with SQL compiled once per process (:mod:`sofp.prepared`).

Each is the ORM's own queryset, compiled with stand-in values and run again with the
request's; tests compare each with the queryset it stands for.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from planning.models import CycleStep, PlanningCycle
from planning.selectors.navigation import stand_in_user
from sofp.prepared import PreparedQuery
from valuestreams.models import ValueStream
from valuestreams.roles import user_reads_all_streams
from valuestreams.selectors import value_streams_visible

# Stand-in ids the SQL is compiled with (never ids of real rows).
_CYCLE = -917_000_019
_USER = -917_000_023

_STEP_FIELDS = [f.attname for f in CycleStep._meta.concrete_fields]
_STEPS = PreparedQuery(
    lambda cycle_id: PlanningCycle(pk=cycle_id).steps.order_by("number").values_list(*_STEP_FIELDS),
    convert=True,
    cycle_id=_CYCLE,
)


def cycle_steps(cycle: PlanningCycle) -> list[CycleStep]:
    """``list(cycle.steps.order_by("number"))``: each step knows its cycle, as the
    related manager's steps do."""
    steps = []
    for row in _STEPS.rows(cycle_id=cycle.pk):
        step = CycleStep.from_db("default", _STEP_FIELDS, row)
        CycleStep.cycle.field.set_cached_value(step, cycle)
        steps.append(step)
    return steps


_STREAM_FIELDS = [f.attname for f in ValueStream._meta.concrete_fields]


def _streams_counted(user_id: int, *, all_streams: bool) -> QuerySet:
    user = stand_in_user(user_id, all_streams=all_streams)
    return (
        value_streams_visible(user=user)
        .annotate(family_count=Count("families"))
        .values_list(*_STREAM_FIELDS, "family_count")
    )


_ALL_COUNTED = PreparedQuery(lambda: _streams_counted(_USER, all_streams=True), convert=True)
_MEMBER_COUNTED = PreparedQuery(
    lambda user_id: _streams_counted(user_id, all_streams=False), convert=True, user_id=_USER
)


def streams_with_family_counts(user) -> list[ValueStream]:
    """``list(value_streams_visible(user=user).annotate(family_count=Count("families")))``
    for a signed-in user: every family of the stream counted, active or not."""
    if user_reads_all_streams(user):
        rows = _ALL_COUNTED.rows()
    else:
        rows = _MEMBER_COUNTED.rows(user_id=user.pk)
    split = len(_STREAM_FIELDS)
    streams = []
    for row in rows:
        stream = ValueStream.from_db("default", _STREAM_FIELDS, row[:split])
        stream.family_count = row[split]
        streams.append(stream)
    return streams
