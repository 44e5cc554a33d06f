"""Request rates per API token and per endpoint class, counted on the shared cache of every API process.

A view names its class with ``throttle_scope`` (``predict`` for classify, detect, descriptor, flows
and search; ``train`` for starting a training; ``upload`` for training images); every other view
is ``api``. Each class has its rate in ``THROTTLE_RATES`` (``"<n>/<second|minute|hour|day>"``;
empty: unlimited). Over the rate the answer is 429 in the error shape with ``Retry-After``.

Requests are counted in fixed windows of the rate's period (a minute for ``/minute``): one counter
per caller, class and window in the cache, which each process adds its requests to in one call at
most every ``THROTTLE_SYNC_SECONDS`` while far below the limit, and at every request near it
(`counted`). (DRF's own throttle keeps
every request's time in a list that it reads, unpickles and writes back on each request: at 1200
a minute that list cost more than the prediction it guarded.) A caller may send up to twice the
rate across the boundary of two windows. The counters live in the ``default`` cache (settings:
Redis, a folder of the host, or a database table), so every API process counts together; if that
cache cannot be reached the request is let through rather than failed, since a rate limit must
not take the API down with it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from ximilar_platform.accounts.models import ApiToken

logger = logging.getLogger(__name__)

DEFAULT_SCOPE = "api"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/minute"`` -> (1200, 60): requests allowed and the window's seconds."""
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


class EndpointThrottle(BaseThrottle):
    """One counter per caller, ``throttle_scope`` and window; refused past the rate until the window ends."""

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = getattr(view, "throttle_scope", None) or DEFAULT_SCOPE
        rate = settings.THROTTLE_RATES.get(scope) or None
        if rate is None:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        key = f"throttle:{scope}:{caller(request) or self.get_ident(request)}:{window}"
        try:
            count = counted(key, limit, period)
        except Exception:  # noqa: BLE001 - Redis or the cache unreachable: count nothing, serve
            logger.warning("Rate limit cache unreachable; request let through", exc_info=True)
            return True
        self.retry_after = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float | None:
        """Seconds until the window ends, rounded up (never 0)."""
        return max(1, math.ceil(self.retry_after))


@dataclass
class Tally:
    """This process's view of one shared counter: its total when last read, and the requests since."""

    total: int = 0
    pending: int = 0
    read_at: float = -math.inf


_tallies: dict[str, Tally] = {}
_tallies_lock = threading.Lock()
MAX_TALLIES = 10000  # past this the memory starts afresh (counters of ended windows among them)


def counted(key: str, limit: int, period: int) -> int:
    """The window's count with this request, adding to the shared counter at most every THROTTLE_SYNC_SECONDS.

    Far below the limit a process counts in memory and adds its requests to the shared counter
    (one ``incr`` by their number) once per interval, learning the other processes' at the same
    time; from 90 % of the limit on, every request is added and read at once, so the limit itself
    is exact and what passes it unseen is at most one interval of the other processes' requests.
    """
    with _tallies_lock:
        if len(_tallies) >= MAX_TALLIES:
            _tallies.clear()
        tally = _tallies.setdefault(key, Tally())
        tally.pending += 1
        estimate, now = tally.total + tally.pending, time.monotonic()
        if estimate < 0.9 * limit and now - tally.read_at < settings.THROTTLE_SYNC_SECONDS:
            return estimate
        adding, tally.pending = tally.pending, 0
    try:
        if cache.add(key, adding, timeout=period + 1):  # the window's first addition made the counter
            total = adding
        else:
            total = cache.incr(key, adding)
    except Exception:
        with _tallies_lock:
            tally.pending += adding  # counted again at the next try
        raise
    with _tallies_lock:
        tally.total, tally.read_at = total, now
        return total + tally.pending


def caller(request: Request) -> str | None:
    """Who is counted: the token (by its hash, never reused), else the signed-in user; None: anonymous."""
    if isinstance(request.auth, ApiToken):
        return f"token-{request.auth.key_hash[:24]}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}-{int(user.date_joined.timestamp())}"
    return None
