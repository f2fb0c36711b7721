"""LRU cache of sampling maps, bounded by bytes.

Maps are keyed by the exact parameters that produced them (floats compared exactly), so a
cache hit returns bit-identical maps.  Values are tuples of numpy arrays; their total
``nbytes`` is what the bound counts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

__all__ = ["MapCache", "MAP_CACHE"]


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, tuple | list):
        return sum(_nbytes(v) for v in value)
    return 64


class MapCache:
    """Thread-safe LRU by bytes.  An entry larger than the whole budget is not stored."""

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """Return the cached value for `key`, building (and storing) it on a miss."""
        with self._lock:
            item = self._data.get(key)
            if item is not None:
                self._data.move_to_end(key)
                self.hits += 1
                return item[0]
            self.misses += 1
        value = build()  # built outside the lock: may be slow
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        elif isinstance(value, tuple):
            for v in value:
                if isinstance(v, np.ndarray):
                    v.setflags(write=False)
        size = _nbytes(value)
        if size > self.max_bytes:
            return value
        with self._lock:
            if key not in self._data:
                self._data[key] = (value, size)
                self._bytes += size
            while self._bytes > self.max_bytes and self._data:
                _, (_, s) = self._data.popitem(last=False)
                self._bytes -= s
        return value


#: Process-wide cache used by the projection functions.
MAP_CACHE = MapCache()
