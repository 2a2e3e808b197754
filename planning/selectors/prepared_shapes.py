"""ORM queries that take lists, compiled once per process for each shape of their lists.

:class:`~sofp.prepared.PreparedQuery` swaps one value per placeholder. A
write's reads filter on lists (the codes of the cells, their months, their measures), so
their SQL depends on how many items each list holds. A :class:`PreparedShapes` compiles
the ORM's own queryset once per shape — the number of items in each list and the flags
that pick the query's branches (a company-wide cell: ``IS NULL`` as well as ``IN``) —
and runs it again with the request's items. A grid save sends a few cells, so a few
shapes serve every save; longer lists (an import) run the queryset as before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Sequence

from django.db.models import QuerySet

from sofp.prepared import PreparedQuery

# Each placeholder is a value no row holds and no other placeholder shares (ids are
# positive, codes hold no NUL, months are this century's).
_numbers = itertools.count()
_numbers_lock = threading.Lock()


def _placeholder(kind: type) -> object:
    with _numbers_lock:
        k = next(_numbers)
    if kind is int:
        return -917_600_000 - k
    if kind is str:
        return f"\x00placeholder {k}"
    if kind is dt.date:
        return dt.date(1200 + k // 12, k % 12 + 1, 1)
    raise TypeError(f"no placeholder of {kind!r}")  # pragma: no cover


class PreparedShapes:
    """``build(shape=..., **values)`` — a ``values_list`` queryset — compiled once per
    shape and run with the request's values; its rows are what iterating the queryset
    gives (the ORM's conversions applied).

    ``lists`` names the arguments that are lists and the type of their items, ``scalars``
    the single values; ``shape`` (hashable) is passed through to ``build`` and picks the
    compiled query together with the lists' lengths. A list longer than ``most`` items,
    or a shape beyond the first ``kept``, runs the queryset itself.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        lists: dict[str, type],
        scalars: dict[str, type] | None = None,
        most: int = 16,
        kept: int = 256,
    ) -> None:
        self._build = build
        self._lists = lists
        self._scalars = scalars or {}
        self._most = most
        self._kept = kept
        self._prepared: dict[tuple, tuple[PreparedQuery, dict[str, list[str]]]] = {}

    def rows(self, shape: object = (), **values: object) -> list[tuple]:
        lengths = tuple(len(values[name]) for name in self._lists)  # type: ignore[arg-type]
        key = (shape, lengths)
        found = self._prepared.get(key)
        if found is None:
            if max(lengths, default=0) > self._most or len(self._prepared) >= self._kept:
                return list(self._build(shape=shape, **values))
            found = self._prepared.setdefault(key, self._prepare(shape, lengths))
        prepared, names = found
        flat: dict[str, object] = {name: values[name] for name in self._scalars}
        for name, items in names.items():
            flat.update(zip(items, values[name], strict=True))  # type: ignore[call-overload]
        return prepared.rows(**flat)

    def _prepare(
        self, shape: object, lengths: Sequence[int]
    ) -> tuple[PreparedQuery, dict[str, list[str]]]:
        names = {
            name: [f"{name}_{i}" for i in range(n)]
            for name, n in zip(self._lists, lengths, strict=True)
        }
        placeholders = {
            item: _placeholder(kind) for name, kind in self._lists.items() for item in names[name]
        }
        placeholders.update({name: _placeholder(kind) for name, kind in self._scalars.items()})
        scalars = list(self._scalars)

        def build(**flat: object) -> QuerySet:
            given = {name: [flat[item] for item in items] for name, items in names.items()}
            given.update({name: flat[name] for name in scalars})
            return self._build(shape=shape, **given)

        return PreparedQuery(build, convert=True, **placeholders), names
