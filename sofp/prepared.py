"""ORM queries compiled once per process and run again with other values.

On small, hot reads (a grid save, every page's menu) Django building a query's SQL —
filters, joins, expressions — costs more than the database answering it. A
:class:`PreparedQuery` is the ORM's own queryset, compiled once with placeholder values;
each run swaps the request's values in and applies the ORM's conversions, so its rows
are what iterating the queryset gives. Nothing is kept between runs but the SQL text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import connections
from django.db.models import Model, QuerySet


class PreparedQuery:
    """An ORM query compiled once per database alias, run again with other values.

    ``build(**placeholders)`` gives the queryset (a ``values_list``); it is compiled
    with the placeholder values, and the parameters equal to a placeholder take the
    run's values. With ``convert`` the rows get the ORM's conversions of each column
    (Decimals, aware datetimes, dates on SQLite), as iterating the queryset would.
    """

    def __init__(
        self, build: Callable[..., QuerySet], *, convert: bool = False, **placeholders: object
    ):
        self._build = build
        self._convert = convert
        self._placeholders = placeholders
        self._compiled: dict[str, tuple] = {}

    def _sql(self, using: str) -> tuple:
        compiled = self._compiled.get(using)
        if compiled is None:
            query = self._build(**self._placeholders).using(using).query
            compiler = query.get_compiler(using)
            sql, params = compiler.as_sql()
            params = tuple(params)
            ops = connections[using].ops
            at = {
                name: tuple(i for i, p in enumerate(params) if _same(p, _adapt(ops, value)))
                for name, value in self._placeholders.items()
            }
            if not all(at.values()):  # pragma: no cover - a placeholder the SQL lost
                raise AssertionError(f"placeholders missing from the SQL: {at}")
            columns = [col for col, _sql, _alias in compiler.select] if self._convert else []
            compiled = self._compiled[using] = (sql, params, at, columns)
        return compiled

    def rows(self, using: str = "default", **values: object) -> list[tuple]:
        sql, params, at, columns = self._sql(using)
        connection = connections[using]
        run = list(params)
        for name, positions in at.items():
            value = _adapt(connection.ops, values[name])
            for i in positions:
                run[i] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, run)
            rows = cursor.fetchall()
        converters = _converters(connection, columns)
        if not converters or not rows:
            return rows
        out = []
        for row in rows:
            row = list(row)
            for i, funcs, expression in converters:
                value = row[i]
                for func in funcs:
                    value = func(value, expression, connection)
                row[i] = value
            out.append(tuple(row))
        return out


def _converters(connection, columns: list) -> list[tuple[int, list, object]]:
    """The ORM's converters of each selected column (``SQLCompiler.get_converters``)."""
    out = []
    for i, expression in enumerate(columns):
        funcs = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if funcs:
            out.append((i, funcs, expression))
    return out


class PreparedFirst:
    """``build(**placeholders).first()`` as model instances, its SQL compiled once: the
    row read with the ORM's conversions, the instance made by ``Model.from_db`` as
    iterating the queryset does."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet], **placeholders):
        self._model = model
        self._names = [f.attname for f in model._meta.concrete_fields]

        def first(**values):
            qs = build(**values)
            qs = qs if qs.ordered else qs.order_by("pk")
            return qs.values_list(*self._names)[:1]

        self._query = PreparedQuery(first, convert=True, **placeholders)

    def get(self, using: str = "default", **values: object) -> Model | None:
        rows = self._query.rows(using, **values)
        return self._model.from_db(using, self._names, rows[0]) if rows else None


def _adapt(ops, value: object) -> object:
    """A value as the ORM puts it among a query's parameters (SQLite: dates as text)."""
    if isinstance(value, dt.date):
        return ops.adapt_datefield_value(value)
    return value


def _same(param: object, placeholder: object) -> bool:
    return type(param) is type(placeholder) and param == placeholder
