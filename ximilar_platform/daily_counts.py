"""Counters per day kept in memory and written together: usage per workspace, traffic per version.

Every prediction adds to a row or two (records per workspace and service, records and confidence
per model version); written one request at a time those were two database writes per prediction,
each a write lock on SQLite. Here a process adds to its own sums and a timer thread writes them
``DAILY_COUNTS_FLUSH_SECONDS`` after the first addition since the last write (no request waits for
it; 0: every addition is written at once), and readers call `flush` first so that this process's
own sums are in what they read. What a process added in its last interval is lost if it is killed (SIGKILL);
a normal exit writes it (atexit). Imports Django only, never an app: the models come as arguments.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, models, transaction
from django.db.models import F

logger = logging.getLogger(__name__)

Key = tuple[type[models.Model], tuple[tuple[str, Any], ...]]

_lock = threading.Lock()
_sums: dict[Key, dict[str, float]] = defaultdict(lambda: defaultdict(float))
_create_with: dict[Key, dict[str, Any]] = {}
_timer: threading.Timer | None = None


def add(model: type[models.Model], key: dict[str, Any], amounts: dict[str, float], **create_with: Any) -> None:
    """Add ``amounts`` to the row of ``model`` that ``key`` names (``create_with``: its other fields when new)."""
    global _timer
    if settings.DAILY_COUNTS_FLUSH_SECONDS <= 0:
        write(model, key, amounts, create_with)
        return
    entry = (model, tuple(sorted(key.items())))
    with _lock:
        for name, amount in amounts.items():
            _sums[entry][name] += amount
        _create_with[entry] = create_with
        if _timer is None:  # a timer thread writes them: no request waits for the writes
            _timer = threading.Timer(settings.DAILY_COUNTS_FLUSH_SECONDS, flush_in_thread)
            _timer.daemon = True
            _timer.start()


def pending(model: type[models.Model], **key: Any) -> dict[str, float]:
    """This process's sums not written yet for the rows of ``model`` whose key fields match ``key``."""
    found: dict[str, float] = defaultdict(float)
    with _lock:
        for (kind, items), sums in _sums.items():
            if kind is model and key.items() <= dict(items).items():
                for name, amount in sums.items():
                    found[name] += amount
    return found


def flush() -> None:
    """Write every pending sum: one UPDATE per row, or the row's INSERT on its first addition."""
    global _timer
    with _lock:
        taken, created = dict(_sums), dict(_create_with)
        _sums.clear()
        _create_with.clear()
        if _timer is not None:
            _timer.cancel()
            _timer = None
    for (model, items), sums in taken.items():
        try:
            write(model, dict(items), sums, created[(model, items)])
        except Exception:  # noqa: BLE001 - the database refused: keep the sums for the next write
            logger.warning("Daily counts not written; kept for the next try", exc_info=True)
            add(model, dict(items), sums, **created[(model, items)])


def write(model: type[models.Model], key: dict[str, Any], sums: dict[str, float], create_with: dict[str, Any]) -> None:
    rows = model._default_manager.filter(**key)
    changes = {name: F(name) + amount for name, amount in sums.items()}
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():  # the first addition of the day makes the row; a race loses to it
            model._default_manager.create(**key, **create_with, **sums)
    except IntegrityError:
        rows.update(**changes)


def flush_in_thread() -> None:
    """The timer's flush: its own database connection, closed after (a thread's connection is its own)."""
    try:
        flush()
    finally:
        connections.close_all()


def discard() -> None:
    """Forget every pending sum and the timer (the tests' teardown: their rows are rolled back anyway)."""
    global _timer
    with _lock:
        _sums.clear()
        _create_with.clear()
        if _timer is not None:
            _timer.cancel()
            _timer = None


atexit.register(flush)
