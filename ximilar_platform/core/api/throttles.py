"""Request rates per API token and per endpoint class, counted on the shared cache of every API process.

A view names its class with ``throttle_scope`` (``predict`` for classify, detect, descriptor, flows
and search; ``train`` for starting a training); every other view is ``api``. Each class has its
rate in ``THROTTLE_RATES`` (``"<n>/<second|minute|hour|day>"``; empty: unlimited). Over the rate
the answer is 429 in the error shape with ``Retry-After``. The counters live in the ``default``
cache, Redis when ``REDIS_URL`` is set and the database otherwise, so every gunicorn worker and
every machine counts together; if that cache cannot be reached the request is let through rather
than failed, since a rate limit must not take the API down with it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ximilar_platform.accounts.models import ApiToken

logger = logging.getLogger(__name__)

DEFAULT_SCOPE = "api"


class EndpointThrottle(SimpleRateThrottle):
    """DRF's sliding-window throttle, keyed by the caller and the view's ``throttle_scope``."""

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = getattr(view, "throttle_scope", None) or DEFAULT_SCOPE
        self.rate = settings.THROTTLE_RATES.get(self.scope) or None
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - Redis or the cache table unreachable: count nothing, serve
            logger.warning("Rate limit cache unreachable; request let through", exc_info=True)
            return True

    def get_rate(self) -> str | None:
        return None  # the rate depends on the view, so allow_request reads it per request

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": caller(request) or self.get_ident(request)}

    def wait(self) -> float | None:
        """Seconds until the oldest counted request leaves the window, rounded up (never 0)."""
        wait = super().wait()
        return None if wait is None else max(1, math.ceil(wait))


def caller(request: Request) -> str | None:
    """Who is counted: the token (by its hash, never reused), else the signed-in user; None: anonymous."""
    if isinstance(request.auth, ApiToken):
        return f"token-{request.auth.key_hash[:24]}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}-{int(user.date_joined.timestamp())}"
    return None
