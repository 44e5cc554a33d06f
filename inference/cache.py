"""A bounded, thread-safe LRU cache of loaded models (roboflow's `WithFixedSizeCache`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ModelCache(Generic[T]):
    """Keeps the `max_size` most recently used values, loading each key once even under concurrency.

    Loads of different keys run in parallel; callers asking for a key that is being loaded wait
    for that load instead of starting their own, since a model load costs memory and seconds.
    """

    def __init__(self, max_size: int, loader: Callable[[str], T]) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        self.max_size = max_size
        self.loader = loader
        self._values: OrderedDict[str, T] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> T:
        """The value for `key`, loaded on first use; the least recently used value is evicted past `max_size`.

        A loader exception reaches the caller and nothing is cached, so the next call tries again.
        """
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:  # loaded by the thread we waited for
                    self._values.move_to_end(key)
                    return self._values[key]
            try:
                value = self.loader(key)
            except BaseException:
                with self._lock:
                    self._loading.pop(key, None)
                raise
            with self._lock:  # publish and stop "loading" at once, so no newcomer starts a second load
                self._loading.pop(key, None)
                self._values[key] = value
                while len(self._values) > self.max_size:
                    self._values.popitem(last=False)
            return value

    def discard(self, key: str) -> None:
        """Forget ``key`` (its value went stale); the next `get` loads it again."""
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        """Drop every value (loads in progress still complete and are cached)."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)
