"""Every request's latency, labelled by the URL pattern it matched, never by its path.

A path holds ids (``recognition/v2/task/<pk>``), so labelling by path would make a series per
object; the matched pattern, the method (unknown ones pooled as ``other``) and the status class
(``2xx``...) keep the series few.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ximilar_platform import metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the name of the catch-all route (urls.py) that answers unknown paths with 404
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")  # a regex route's named group: (?P<pk>[0-9a-f-]+)
_CONVERTER = re.compile(r"<\w+:(\w+)>")  # a path() route's converter: <uuid:pk>


def route_of(request: HttpRequest) -> str:
    """``recognition/v2/task/<pk>``: the matched pattern without regex syntax; ``unresolved`` before routing
    (static files, a refused Host)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unresolved"
    if match.url_name == UNMATCHED:
        return UNMATCHED
    route = _CONVERTER.sub(r"<\1>", _GROUP.sub(r"<\1>", match.route))
    return route.removeprefix("^").removesuffix("$").removesuffix("/?").rstrip("/") or "/"


class RequestMetrics:
    """Near the top of MIDDLEWARE, so the time includes every middleware below it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        labels = {"route": route_of(request), "method": method, "status": f"{response.status_code // 100}xx"}
        metrics.REQUEST_SECONDS.labels(**labels).observe(time.perf_counter() - started)
        return response
