"""Pages of the web app answer errors as pages; the API keeps its JSON errors."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)
PREFIX = "/app/"


class WebErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(PREFIX):
            return None
        if isinstance(exception, Http404):
            return render(
                request,
                "web/error.html",
                {
                    "title": "Not found",
                    "message": "This page does not exist, or it belongs to a workspace you are not working in.",
                },
                status=404,
            )
        error_id = str(uuid.uuid4())
        logger.exception("Unhandled error %s on %s", error_id, request.path, exc_info=exception)
        return render(
            request,
            "web/error.html",
            {
                "title": "Something went wrong",
                "message": f"The server could not finish this. Try again; if it keeps failing, quote error {error_id}.",
            },
            status=500,
        )
