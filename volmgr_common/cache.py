"""Short-lived read caches for rows that every request reads and that rarely change.

A service row (heartbeat, disabled) or a volume type read for one request answers
the requests of the next second too, so that a flood costs one read per row per
second instead of one per request. Values are shared: callers must not change them.
Loading errors (a row that does not exist) are not cached.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import cachetools

V = TypeVar("V")

ROW_TTL = 1.0
"""Seconds a row read from the database answers later requests."""


def _now() -> float:
    """The caches' clock (a test may replace it without touching ``time``)."""
    return time.monotonic()


class ShortLivedCache(Generic[V]):
    """A thread-safe cache whose entries live ``ttl`` seconds."""

    def __init__(self, ttl: float = ROW_TTL, maxsize: int = 4096) -> None:
        self._entries: cachetools.TTLCache[Hashable, V] = cachetools.TTLCache(
            maxsize, ttl, timer=lambda: _now()
        )
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The cached value of ``key``, or ``load()`` (then cached) if it has none."""
        with self._lock:
            try:
                return self._entries[key]
            except KeyError:
                pass
        value = load()
        with self._lock:
            self._entries[key] = value
        return value

    def forget(self, key: Hashable) -> None:
        """Drop ``key``'s entry (its row changed here), so the next ``get`` reads it again."""
        with self._lock:
            self._entries.pop(key, None)
