"""What a prediction reads from the database and seldom changes, remembered per process for a moment.

A classify used to read its task (with the caller's membership), its version row and its labels'
names on every request. These rows change rarely (a deploy, a new version, a renamed label, a
member removed); each is kept for ``SERVING_CACHE_SECONDS``. A change
saved or deleted in this process forgets everything at once (signals, connected by the apps that
own the models); another process sees it within ``SERVING_CACHE_SECONDS``. Misses are never kept,
so a version trained a moment ago is found at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings

V = TypeVar("V")

MAX_ENTRIES = 4096  # past this the memo starts afresh: bounded memory, no bookkeeping per hit


class Remembered(Generic[V]):
    """``get(key, load)``: the value read less than ``SERVING_CACHE_SECONDS`` ago, else ``load()``'s."""

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V | None]) -> V | None:
        now = time.monotonic()
        known = self._values.get(key)
        if known is not None and now - known[0] < settings.SERVING_CACHE_SECONDS:
            return known[1]
        value = load()
        if value is not None and settings.SERVING_CACHE_SECONDS > 0:
            with self._lock:
                if len(self._values) >= MAX_ENTRIES:
                    self._values.clear()
                self._values[key] = (now, value)
        return value

    def forget(self, **_: object) -> None:
        """A signal receiver: a row behind these values changed in this process."""
        with self._lock:
            self._values.clear()
