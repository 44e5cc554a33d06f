"""One error shape for the whole API.

``{"detail": str, "code": str, "status": {"code": int, "text": str}, "fields"?: {...}, "error_id"?: uuid}``:
the official client reads ``detail`` on CRUD calls and ``status.code``/``status.text`` on
prediction calls, so every error carries both.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from inference.images import InvalidImage

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def error_body(detail: str, code: str, http_status: int, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, "status": {"code": http_status, "text": detail}, **extra}


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """Turn DRF's nested validation detail into readable ``field: message`` lines."""
    if isinstance(detail, dict):
        lines: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}{name}: " if name else prefix)
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    return [f"{prefix}{detail}"]


def readable(detail: Any) -> str:
    """A validation detail (a message, a list, or a dict of fields) as one sentence a person can read."""
    return "; ".join(_flatten(detail))


def _first_code(detail: Any) -> str:
    if isinstance(detail, dict):
        return _first_code(next(iter(detail.values()), "invalid"))
    if isinstance(detail, list):
        return _first_code(detail[0]) if detail else "invalid"
    return getattr(detail, "code", None) or "invalid"


def api_exception_response(exc: exceptions.APIException) -> Response:
    detail = exc.detail
    extra: dict[str, Any] = {}
    if isinstance(detail, (dict, list)):
        message = readable(detail)
        code = _first_code(detail)
        if isinstance(detail, dict):
            extra["fields"] = exc.get_full_details()
    else:
        message, code = str(detail), getattr(detail, "code", None) or exc.default_code
    response = Response(error_body(message, str(code), exc.status_code, **extra), status=exc.status_code)
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        response["Retry-After"] = str(int(exc.wait))
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: map every exception, including unexpected ones, to the error shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. a form or query of too many fields: 400, as Django answers
        exc = exceptions.ParseError(str(exc))
    elif isinstance(exc, InvalidImage):
        return Response(error_body(exc.message, exc.code, exc.status), status=exc.status)
    if isinstance(exc, exceptions.APIException):
        return api_exception_response(exc)
    error_id = str(uuid.uuid4())
    logger.exception("Unhandled error %s", error_id, exc_info=exc)
    body = error_body("Internal server error.", "server_error", 500, error_id=error_id)
    return Response(body, status=500)
