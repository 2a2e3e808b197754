"""Database functions that every backend evaluates natively.

Django's ``__day`` lookup on SQLite calls a Python function that Django registers on
the connection (``django_date_extract``), once per row. Inside a ``CHECK`` constraint
that runs for every row a bulk write inserts or updates; these run in the database.
"""

from __future__ import annotations

from django.db.models import Func, IntegerField


class DayOfMonth(Func):
    """The day of a date: ``EXTRACT(DAY FROM …)``, on SQLite ``strftime('%d', …)``."""

    arity = 1
    template = "EXTRACT(DAY FROM %(expressions)s)"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # '%' is doubled twice: once for this template, once for the query's parameters.
        return self.as_sql(
            compiler,
            connection,
            template="CAST(STRFTIME('%%%%d', %(expressions)s) AS INTEGER)",
            **extra_context,
        )


class MonthOrdinal(Func):
    """Months since 1970-01 of a date column, computed by the database: an integer per
    row instead of a date or text that Python would parse (monthly periods are these
    ordinals)."""

    arity = 1
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL and the rest
        template = (
            "((CAST(EXTRACT(YEAR FROM %(expressions)s) AS INTEGER) - 1970) * 12"
            " + CAST(EXTRACT(MONTH FROM %(expressions)s) AS INTEGER) - 1)"
        )
        return super().as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        # Dates are ``YYYY-MM-DD`` text in SQLite (its own functions, no Python per row).
        template = (
            "((CAST(substr(%(expressions)s, 1, 4) AS INTEGER) - 1970) * 12"
            " + CAST(substr(%(expressions)s, 6, 2) AS INTEGER) - 1)"
        )
        return super().as_sql(compiler, connection, template=template, **extra_context)
