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
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connections, router
from django.db.models import CharField, Count, Func, QuerySet, Window
from django.db.models.sql.constants import MULTI
from django.utils import timezone
from django.utils.functional import cached_property

from planning.api.renderers import format_plan_value
from planning.api.serializers import utc_text
from planning.models import PlanningCycle, PlanValue
from planning.selectors.navigation import stand_in_user
from planning.selectors.plans import plan_values_visible
from sofp.api.pagination import ApiPagination
from sofp.prepared import PreparedQuery
from valuestreams.roles import user_reads_all_streams

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


class _AsText(Func):
    """A date or timestamp column as ISO text, which Python reads in C
    (``fromisoformat``): the drivers' own readers of these types are Python code per
    cell (Django registers ``parse_date``/``parse_datetime`` with sqlite3; psycopg's
    pure-Python loaders parse timestamps with a regex). Other databases: the column."""

    template = "%(expressions)s"
    output_field = CharField()
    # PostgreSQL: to_char does not depend on the session's DateStyle.
    postgresql_format = "'YYYY-MM-DD'"

    def as_sqlite(self, compiler, connection, **extra_context):
        # The stored text: 'YYYY-MM-DD', or 'YYYY-MM-DD HH:MM:SS[.ffffff]' in the
        # connection's time zone (an expression has no declared type: no parser runs).
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS TEXT)")

    def as_postgresql(self, compiler, connection, **extra_context):
        template = f"to_char(%(expressions)s, {self.postgresql_format})"
        return self.as_sql(compiler, connection, template=template)


class _TimestampAsText(_AsText):
    # The moment in UTC with its offset, microseconds always written (six digits).
    postgresql_format = "'YYYY-MM-DD HH24:MI:SS.US\"+00:00\"'"

    def as_postgresql(self, compiler, connection, **extra_context):
        template = f"to_char(%(expressions)s AT TIME ZONE 'UTC', {self.postgresql_format})"
        return self.as_sql(compiler, connection, template=template)


_AS_TEXT = {"month": _AsText, "updated_at": _TimestampAsText}


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

    def counts_in_one_query(self) -> bool:
        """A window count equals ``count()`` for plain filtered rows; not after
        DISTINCT, GROUP BY or a UNION, which count something else."""
        query = self.queryset.query
        return not (query.distinct or query.combinator or query.group_by is not None)

    def rows_and_count(self, start: int, stop: int) -> tuple[list[dict[str, Any]], int | None]:
        """``self[start:stop]`` and ``count()`` in one query (the count is a window over
        the same rows, taken before the limit); the count is None when the slice is
        empty, where no row carries it."""
        counts: list[int] = []
        rows = plan_value_dicts(self.queryset[start:stop], counts=counts)
        return rows, (counts[0] if counts else None)


class PreparedPlanValuePage(PlanValuePage):
    """The page source of the common request — the plan's values the user may read,
    no filter, no scenario — whose page-and-count query is compiled once per process
    (per page bounds and kind of reader) and run again with this cycle and user. Counting
    alone and slicing (Django's paginator path) use ``plan_values_visible`` itself."""

    def __init__(self, *, cycle: PlanningCycle, user: Any, include_cleared: bool) -> None:
        self._cycle, self._user, self._include_cleared = cycle, user, include_cleared

    @cached_property
    def queryset(self) -> QuerySet:  # type: ignore[override]
        return plan_values_visible(
            cycle=self._cycle, user=self._user, include_cleared=self._include_cleared
        )

    def counts_in_one_query(self) -> bool:
        return True  # plan_values_visible: plain filtered rows (a test checks it)

    def rows_and_count(self, start: int, stop: int) -> tuple[list[dict[str, Any]], int | None]:
        all_streams = user_reads_all_streams(self._user)
        prepared = _page_query(all_streams, self._include_cleared, start, stop)
        values = {"cycle_id": self._cycle.pk}
        if not all_streams:
            values["user_id"] = self._user.pk
        using = router.db_for_read(PlanValue)
        rows = prepared.rows(using, **values)  # converted as the ORM does (the value)
        count = rows[0][-1] if rows else None
        return _row_dicts((row[:-1] for row in rows), _same_value, connections[using]), count


def _same_value(value: Any) -> Any:
    return value


# Stand-in ids the page query is compiled with (never ids of real rows).
_CYCLE_ID = -917_000_013
_USER_ID = -917_000_017
_PAGE_QUERIES: dict[tuple, PreparedQuery] = {}
_PAGE_QUERIES_KEPT = 256  # page bounds × kinds of reader: a handful in practice


def _page_query(all_streams: bool, include_cleared: bool, start: int, stop: int) -> PreparedQuery:
    """The compiled page-and-count query of one kind of reader and one page's bounds
    (LIMIT and OFFSET are part of the SQL text, not parameters)."""
    key = (all_streams, include_cleared, start, stop)
    prepared = _PAGE_QUERIES.get(key)
    if prepared is None:

        def build(cycle_id: int, user_id: int = _USER_ID) -> QuerySet:
            visible = plan_values_visible(
                cycle=PlanningCycle(pk=cycle_id),
                user=stand_in_user(user_id, all_streams=all_streams),
                include_cleared=include_cleared,
            )
            return _rows_queryset(visible[start:stop], with_count=True)

        placeholders = {"cycle_id": _CYCLE_ID}
        if not all_streams:
            placeholders["user_id"] = _USER_ID
        if len(_PAGE_QUERIES) >= _PAGE_QUERIES_KEPT:
            _PAGE_QUERIES.clear()
        prepared = _PAGE_QUERIES[key] = PreparedQuery(build, convert=True, **placeholders)
    return prepared


class _RowsPage(Page):
    """Django's page over a list of rows, iterated as the list (DRF lists the page:
    ``Sequence`` would index it row by row)."""

    def __iter__(self):
        return iter(self.object_list)


class PlanValuePaginator(Paginator):
    """Django's paginator over a :class:`PlanValuePage`: a page that has rows is read
    with its count in one query. Anything else (an empty or out-of-range page, a page
    number that is not a number) takes Django's own path, and its answer."""

    def page(self, number: Any) -> Page:
        object_list = self.object_list
        if (
            isinstance(object_list, PlanValuePage)
            and not self.orphans
            and object_list.counts_in_one_query()
        ):
            try:
                wanted = None if isinstance(number, float) else int(number)
            except (TypeError, ValueError):
                wanted = None
            if wanted is not None and wanted >= 1:
                bottom = (wanted - 1) * self.per_page
                rows, count = object_list.rows_and_count(bottom, bottom + self.per_page)
                if rows and count is not None:
                    self.__dict__["count"] = count  # Paginator.count is a cached_property
                    return _RowsPage(rows, wanted, self)
        return super().page(number)


class PlanValuePagination(ApiPagination):
    """The API's pagination, reading a page of plan values and its count at once."""

    django_paginator_class = PlanValuePaginator


def _rows_queryset(queryset: QuerySet, *, with_count: bool) -> QuerySet:
    """``queryset``'s rows as the columns of ``PLAN_VALUE_ROW_FIELDS`` (dates and
    timestamps as text, :class:`_AsText`); with ``with_count`` also the count of the
    rows before LIMIT/OFFSET, on every row: the last column."""
    annotations: dict[str, Any] = {f"_{name}_text": kind(name) for name, kind in _AS_TEXT.items()}
    fields = [f"_{name}_text" if name in _AS_TEXT else name for name in PLAN_VALUE_ROW_FIELDS]
    if with_count:
        annotations["_count"] = Window(Count("*"))
        fields.append("_count")
    return queryset.annotate(**annotations).values_list(*fields)


def _raw_rows(
    queryset: QuerySet, *, with_count: bool = False
) -> tuple[list, Callable[[Any], Any], Any]:
    """The rows of ``queryset.values_list(*PLAN_VALUE_ROW_FIELDS)`` as the driver gives
    them (in chunks), the value column's conversion (Django's converters, e.g. SQLite's
    number → Decimal; none on PostgreSQL) and the connection. Dates and timestamps are
    left as the driver reads them: :func:`plan_value_dicts` formats them itself."""
    rows_qs = _rows_queryset(queryset, with_count=with_count)
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


def plan_value_dicts(
    queryset: QuerySet, *, counts: list[int] | None = None
) -> list[dict[str, Any]]:
    """The page's rows as :class:`~planning.api.serializers.PlanValueSerializer` writes
    them (value as an exact 6-decimal string or None, month ``YYYY-MM``, UTC ``…Z``).

    With ``counts`` (a list to fill), the query also counts every row the queryset has
    before its slice, and that number is appended to ``counts`` (nothing if no row)."""
    with_count = counts is not None
    chunks, convert_value, connection = _raw_rows(queryset, with_count=with_count)
    rows = chain.from_iterable(chunks)
    if with_count:
        rows = list(rows)
        if rows:
            counts.append(rows[0][-1])
        rows = (row[:-1] for row in rows)
    return _row_dicts(rows, convert_value, connection)


def _row_dicts(
    rows: Iterable[Sequence[Any]], convert_value: Callable[[Any], Any], connection: Any
) -> list[dict[str, Any]]:
    """Rows of ``PLAN_VALUE_ROW_FIELDS`` (dates and timestamps as :class:`_AsText` reads
    them) as the serializer's dicts; ``convert_value`` is the value column's conversion."""
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
        if isinstance(at, str):  # see _AsText: naive in the database's zone, or UTC
            if len(at) == 32 and at[10] == " " and at.endswith("+00:00"):
                # PostgreSQL's 'YYYY-MM-DD HH:MM:SS.ffffff+00:00': what utc_text writes
                # ('T', no fraction when it is zero, 'Z'), cut from the text.
                fraction = at[19:26]
                return f"{at[:10]}T{at[11:19]}{'' if fraction == '.000000' else fraction}Z"
            at = dt.datetime.fromisoformat(at)
        if at.tzinfo is None and db_zone is not None:  # as Django's converters read it
            if db_in_utc:  # what utc_text writes for this moment, without the detour
                return at.isoformat() + "Z"
            at = timezone.make_aware(at, db_zone)
        return utc_text(at)

    out: list[dict[str, Any]] = []
    append = out.append
    for vs, pf, month, measure, value, version, comment, at, by in rows:
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
