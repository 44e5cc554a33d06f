"""``/healthz``, ``/readyz`` and ``/metrics`` are answered before Django checks the Host header.

Kubelets and Prometheus call a pod by its IP address, which is not in ``ALLOWED_HOSTS``, and
CommonMiddleware would answer them 400. These answers build no URL from the Host, so the check
protects nothing there. The routes stay declared in urls.py; this middleware only reaches them
earlier.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class OperationalEndpoints:
    """Placed above SecurityMiddleware and CommonMiddleware, below the request id and the request metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") not in PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match  # as Django's handler does: the request metrics label by it
        return match.func(request, *match.args, **match.kwargs)
