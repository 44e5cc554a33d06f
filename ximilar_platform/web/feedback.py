"""Turning what a service refused into a message on the page, never a stack trace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.http import HttpRequest
from rest_framework.exceptions import APIException

from inference.images import InvalidImage
from ximilar_platform.core.api.exceptions import readable


def reason(error: Exception) -> str:
    if isinstance(error, APIException):
        return readable(error.detail)
    if isinstance(error, InvalidImage):
        return error.message
    return str(error)


@contextmanager
def reported(request: HttpRequest, success: str | None = None) -> Iterator[None]:
    """Run a change; a refusal (a 4xx of the API) becomes an error message, success an info one."""
    try:
        yield
    except (APIException, InvalidImage) as error:
        messages.error(request, reason(error))
    else:
        if success:
            messages.success(request, success)
