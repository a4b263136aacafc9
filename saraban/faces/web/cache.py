"""A short-lived cache of what a page read, for pages many people open at once (the follow page of a
national circular): the database still does the counting, once per few seconds per page instead of
once per request. Per process; the page says when its figures were read."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class ShortCache(Generic[T]):
    """Values kept ``seconds`` long, at most ``size`` of them (the oldest go first). Concurrent misses of
    one key compute it once: the others wait for it."""

    def __init__(self, seconds: float, size: int = 256) -> None:
        self.seconds = seconds
        self.size = size
        self._values: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        found = self._fresh(key)
        if found is not None:
            return found[1]
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            found = self._fresh(key)
            if found is not None:
                return found[1]
            value = compute()
            with self._lock:
                self._values[key] = (time.monotonic(), value)
                self._values.move_to_end(key)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
                self._computing.pop(key, None)
            return value

    def _fresh(self, key: Hashable) -> tuple[float, T] | None:
        with self._lock:
            found = self._values.get(key)
        if found is not None and time.monotonic() - found[0] < self.seconds:
            return found
        return None

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
