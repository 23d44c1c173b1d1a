"""Every process-wide cache of nprog, each with its bound, and :func:`clear` to empty them all.

A cache lives here (or is registered here through :func:`memoize`) so that one place says what the
process keeps between calls and how much of it, and so that a caller who needs cold caches (the bench's
end-to-end figures, a test) calls :func:`clear` instead of reaching into other modules' privates.
Data derived from one table is not kept here: it is a ``cached_property`` of :class:`nprog.tables.Table`
and goes away with the table. ``tests/test_caches.py`` checks that no other module keeps a module-level
mutable memo.

The caches, their owners and their bounds:

- ``NORMALIZED_TEXT`` (``nprog.tables.normalize_text``): string → normalized text, up to 200,000 strings;
- ``PARSED_STRINGS`` (``nprog.values.parse_strings``): string → its six parsed fields, up to 200,000 strings;
- ``WTQ_TABLES`` (``nprog.wtq.load_table``): recently used WTQ tables, up to 5,000,000 cells in all;
- functions decorated with :func:`memoize` (e.g. ``nprog.wtq._checked_path``, ``nprog.questions``'s
  column-name tokens), each with its own ``maxsize``.

All are safe to share between threads: readers copy what they need into a local dict first, so another
thread clearing a cache between two lookups costs a recomputation, never a KeyError.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any


class StringMemo:
    """string → a value derived from it, for inputs too small to pay for a bulk Arrow call.

    Emptied whole when it would pass ``limit`` entries (cheaper than an LRU's bookkeeping on a path
    that runs per question, and the hot strings come back at once)."""

    def __init__(self, name: str, limit: int):
        self.name = name
        self.limit = limit
        self._values: dict[str, Any] = {}

    def lookup(self, keys: Iterable[str]) -> dict[str, Any]:
        """A fresh dict of every key → its cached value, or None where none is cached."""
        values = self._values
        return {k: values.get(k) for k in keys}

    def add(self, fresh: dict[str, Any]) -> None:
        if len(self._values) + len(fresh) > self.limit:
            self._values.clear()
        self._values.update(fresh)

    def clear(self) -> None:
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    @property
    def bound(self) -> str:
        return f"{self.limit:,} strings"


class CostBoundedLRU:
    """Least-recently-used values bounded by their total cost (``cost(value)``) rather than their number:
    a question file visits its tables in any order, and a few hundred small tables cost less than one
    large one. The newest value is always kept, whatever it costs. Thread-safe."""

    def __init__(self, name: str, budget: int, cost: Callable[[Any], int], unit: str):
        self.name = name
        self.budget = budget
        self.cost = cost
        self.unit = unit
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            if key not in self._values:
                self._values[key] = value
                self._used += self.cost(value)
            while self._used > self.budget and len(self._values) > 1:
                _, old = self._values.popitem(last=False)
                self._used -= self.cost(old)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._used = 0

    def __len__(self) -> int:
        return len(self._values)

    @property
    def bound(self) -> str:
        return f"{self.budget:,} {self.unit}"


class _Memoized:
    """A function memoized by :func:`memoize` as the registry sees it."""

    def __init__(self, function):
        self.function = function
        self.name = f"{function.__module__}.{function.__qualname__}"

    def clear(self) -> None:
        self.function.cache_clear()

    def __len__(self) -> int:
        return self.function.cache_info().currsize

    @property
    def bound(self) -> str:
        return f"{self.function.cache_info().maxsize:,} calls"


_REGISTRY: list = []  # every cache of the process; only this module keeps module-level caches


def _register(cache):
    _REGISTRY.append(cache)
    return cache


def memoize(maxsize: int):
    """``functools.lru_cache(maxsize)``, registered here so that :func:`clear` empties it too. For pure
    functions of hashable arguments (exceptions they raise are not cached)."""

    def wrap(function):
        memoized = functools.lru_cache(maxsize=maxsize)(function)
        _register(_Memoized(memoized))
        return memoized

    return wrap


def registered() -> list:
    """Every cache of the process (name, bound, len), e.g. to print or to test that clear() empties them."""
    return list(_REGISTRY)


def clear() -> None:
    """Empty every process-wide cache (the next calls read and compute afresh, as in a new process)."""
    for cache in _REGISTRY:
        cache.clear()


NORMALIZED_TEXT = _register(StringMemo("normalized text", 200_000))
PARSED_STRINGS = _register(StringMemo("parsed strings", 200_000))
WTQ_TABLE_CELLS = 5_000_000  # a few hundred MB of tables
WTQ_TABLES = _register(
    CostBoundedLRU(
        "WTQ tables", WTQ_TABLE_CELLS, cost=lambda table: table.n_rows * table.n_columns, unit="cells"
    )
)
