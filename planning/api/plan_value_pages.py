"""A JSON page of stored plan values, straight from the database rows.

``PlanValueSerializer`` builds a dict from a model instance (and the instances of its
stream, family and user); a 1,000-row page spent most of its time there and in Django's
per-cell converters. Here one query fetches the page's columns as plain rows and each
row becomes the serializer's dict directly: months and values are formatted once per
distinct month and number, timestamps straight from the driver's datetime. The dicts
are exactly what the serializer writes (tests compare the two).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import chain
from typing import Any

from django.db.models import CharField, Func, QuerySet
from django.db.models.sql.constants import MULTI
from django.utils import timezone

from planning.api.renderers import format_plan_value
from planning.api.serializers import utc_text

# The columns a page reads, in the order :func:`plan_value_dicts` unpacks them.
PLAN_VALUE_ROW_FIELDS = (
    "value_stream__code",
    "product_family__code",
    "month",
    "measure",
    "value",
    "version",
    "comment",
    "updated_at",
    "updated_by__username",
)
_VALUE = PLAN_VALUE_ROW_FIELDS.index("value")


# Columns the sqlite3 module would parse by their declared type (Django registers Python
# parsers for "date" and "datetime"); read as their stored text they cost nothing.
_DRIVER_PARSED = ("month", "updated_at")


class _AsRead(Func):
    """A column as the driver reads it most cheaply: SQLite's stored ISO text (an
    expression has no declared type, so no parser runs); the column itself elsewhere."""

    template = "%(expressions)s"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS TEXT)")


class PlanValuePage:
    """A plan-value queryset seen by Django's ``Paginator``: ``count()`` is one COUNT
    query, a slice is one query whose rows come back as the API's dicts."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        if not isinstance(index, slice):
            raise TypeError("a page of plan values is read by slice")
        return plan_value_dicts(self.queryset[index])


def _raw_rows(queryset: QuerySet) -> tuple[list, Callable[[Any], Any], Any]:
    """The rows of ``queryset.values_list(*PLAN_VALUE_ROW_FIELDS)`` as the driver gives
    them (in chunks), the value column's conversion (Django's converters, e.g. SQLite's
    number → Decimal; none on PostgreSQL) and the connection. Dates and timestamps are
    left as the driver reads them: :func:`plan_value_dicts` formats them itself."""
    rows_qs = queryset.annotate(
        **{f"_{name}_as_read": _AsRead(name) for name in _DRIVER_PARSED}
    ).values_list(
        *(f"_{name}_as_read" if name in _DRIVER_PARSED else name for name in PLAN_VALUE_ROW_FIELDS)
    )
    compiler = rows_qs.query.get_compiler(using=rows_qs.db)
    chunks = compiler.execute_sql(MULTI)
    connection = compiler.connection
    select = getattr(compiler, "select", None) or []
    if len(select) <= _VALUE:  # nothing was asked of the database (an empty result)
        return list(chunks), lambda v: v, connection
    functions, expression = compiler.get_converters([select[_VALUE][0]]).get(0, ((), None))

    def convert(value: Any) -> Any:
        for function in functions:
            value = function(value, expression, connection)
        return value

    return list(chunks), convert, connection


def plan_value_dicts(queryset: QuerySet) -> list[dict[str, Any]]:
    """The page's rows as :class:`~planning.api.serializers.PlanValueSerializer` writes
    them (value as an exact 6-decimal string or None, month ``YYYY-MM``, UTC ``…Z``)."""
    chunks, convert_value, connection = _raw_rows(queryset)
    db_zone = connection.timezone  # naive timestamps from the driver are in this zone
    db_in_utc = db_zone is dt.UTC
    months: dict[Any, str] = {}
    values: dict[tuple, str | None] = {}

    def month_text(month: Any) -> str:
        if isinstance(month, str):  # a driver that does not parse dates: 'YYYY-MM-DD'
            month = dt.date.fromisoformat(month[:10])
        return month.strftime("%Y-%m")

    def at_text(at: Any) -> str | None:
        if at is None:
            return None
        if isinstance(at, str):  # SQLite's stored text, 'YYYY-MM-DD HH:MM:SS[.ffffff]'
            at = dt.datetime.fromisoformat(at)
        if at.tzinfo is None and db_zone is not None:
            if db_in_utc:  # what utc_text writes for this moment, without the detour
                return at.isoformat() + "Z"
            at = timezone.make_aware(at, db_zone)
        return utc_text(at)

    out: list[dict[str, Any]] = []
    append = out.append
    for vs, pf, month, measure, value, version, comment, at, by in chain.from_iterable(chunks):
        m = months.get(month)
        if m is None:
            m = months[month] = month_text(month)
        # The same stored number always reads as the same text; the type is part of the
        # key so that no two representations ever share an entry.
        key = (type(value), value)
        v = values.get(key, values)
        if v is values:
            converted = convert_value(value)
            v = values[key] = None if converted is None else format_plan_value(converted)
        append(
            {
                "value_stream": vs or "",
                "product_family": pf or "",
                "month": m,
                "measure": measure,
                "value": v,
                "version": version,
                "comment": comment,
                "updated_at": at_text(at),
                "updated_by": by,
            }
        )
    return out
