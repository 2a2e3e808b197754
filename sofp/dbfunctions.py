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
