"""One id per HTTP request, on its answer's ``X-Request-ID`` and on every log record made while it runs.

A caller's (or a proxy's) ``X-Request-ID`` is kept when it is short and made of safe characters,
so one id follows a request across services; anything else is replaced by a fresh one, since the
value lands in logs and headers.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
NONE = "-"  # the request id of records logged outside any request

_current: ContextVar[str] = ContextVar("request_id", default=NONE)


def current() -> str:
    """The id of the request being answered in this thread, ``-`` outside a request."""
    return _current.get()


def accepted(value: str | None) -> str:
    """The caller's id when it is safe to log and echo, else a fresh one."""
    return value if value and SAFE.fullmatch(value) else uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so everything below (errors, probes, static files) logs and answers with the id.

    The id stays set until the answer is closed (`request_finished`), not only until the middleware
    returns: Django logs 4xx/5xx answers and gunicorn writes its access line after that.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted(request.headers.get(HEADER))
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _forget(**_: object) -> None:
    _current.set(NONE)


request_finished.connect(_forget, dispatch_uid="ximilar_platform.core.request_id")


class RequestIdFilter(logging.Filter):
    """Set on the log handlers (settings.LOGGING): gives every record a ``request_id`` attribute."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current()
        return True
