"""Non-API views: the index, media files and the JSON catch-all for unknown routes."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import static
from django.views.decorators.csrf import csrf_exempt

from ximilar_platform.core.api.exceptions import error_body


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "name": "Trainable vision backend (Ximilar-compatible API)",
            "app": request.build_absolute_uri("/app/"),
            "docs": request.build_absolute_uri("/api/docs/"),
            "schema": request.build_absolute_uri("/api/schema/"),
        }
    )


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve stored images without the API token; their names are unguessable."""
    try:
        response = static.serve(request, path, document_root=settings.MEDIA_ROOT)
    except Http404:
        return JsonResponse(error_body("Not found.", "not_found", 404), status=404)
    response["Cache-Control"] = "private, max-age=86400"
    return response


@csrf_exempt  # the catch-all answers every method with JSON 404, never with the CSRF page
def not_found(request: HttpRequest, exception: Exception | None = None, **_: object) -> JsonResponse:
    return JsonResponse(error_body("Not found.", "not_found", 404), status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """A session request without its CSRF token (a signed-in browser page's scripts send it)."""
    detail = "CSRF check failed: reload the page and try again, or call the API with a token."
    return JsonResponse(error_body(detail, "csrf_failed", 403), status=403)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("Internal server error.", "server_error", 500), status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("Bad request.", "bad_request", 400), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("Permission denied.", "permission_denied", 403), status=403)
