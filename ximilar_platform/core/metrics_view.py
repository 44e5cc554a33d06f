"""``/metrics``: the Prometheus text format, for the scraper only.

With ``METRICS_TOKEN`` set a scrape must send ``Authorization: Bearer <token>``; without it only
loopback clients that came through no proxy are answered (a proxy on the same host would otherwise
pass the whole internet off as loopback). ``METRICS_ENABLED=false`` answers 404.

Under gunicorn (``gunicorn_conf``) each worker process writes its counts to files of a shared folder
and the answer merges them all (prometheus_client's multiprocess mode), so consecutive scrapes agree
whichever worker answers; elsewhere (runserver, tests) the process's own registry is used.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from ximilar_platform.core.api.exceptions import error_body
from ximilar_platform.core.scrape import ScrapeTimeCollector
from ximilar_platform.env import env_str

FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _error(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse(error_body(detail, code, status), status=status)


def _loopback(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_loopback and not any(header in request.headers for header in FORWARDING_HEADERS)


def refusal(request: HttpRequest) -> JsonResponse | None:
    """Why this request may not read the metrics, or None when it may."""
    if not settings.METRICS_ENABLED:
        return _error("Not found.", "not_found", 404)
    if request.method not in ("GET", "HEAD"):
        return _error("Method not allowed.", "method_not_allowed", 405)
    if settings.METRICS_TOKEN:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode()):
            return None
        response = _error("Send the METRICS_TOKEN as 'Authorization: Bearer <token>'.", "not_authenticated", 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not _loopback(request):
        detail = "Metrics answer loopback clients only; set METRICS_TOKEN to scrape from elsewhere."
        return _error(detail, "permission_denied", 403)
    return None


class _ProcessRegistry:
    """This process's own metrics (the default registry), as one collector of a scrape's registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def registry() -> CollectorRegistry:
    """A fresh registry per scrape: this server's counts plus the scrape-time ones."""
    scrape = CollectorRegistry()
    if env_str("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)
    else:
        scrape.register(_ProcessRegistry())
    scrape.register(ScrapeTimeCollector())
    return scrape


def metrics(request: HttpRequest) -> HttpResponse:
    if refused := refusal(request):
        return refused
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
