"""The ready-to-use services by name: what their endpoints and a flow's ``ximilar_service`` nodes call.

Each one takes decoded images and answers one dict of record fields per image, in Ximilar's shape.
No task and no training: the models ship inside installed wheels (tagging) or are plain maths (colours).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from ximilar_platform.accounts.usage import count_records
from ximilar_platform.core.api.workspaces import resolve_workspace
from ximilar_platform.ready_services.colors import color_images, color_options
from ximilar_platform.ready_services.tagging import tag_images
from ximilar_platform.serving.requests import Batch, decode_records, parse_records


def no_options(data: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ReadyService:
    """``run(images, **options(body))``; records count as ``usage`` in ``account/v2/usage``."""

    usage: str
    run: Callable[..., list[dict[str, Any]]]
    options: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=no_options)


SERVICES = {
    "generic_tagging": ReadyService("tagging", tag_images),
    "dominant_colors_generic": ReadyService(
        "colors", partial(color_images, product=False), partial(color_options, product=False)
    ),
    "dominant_colors_product": ReadyService(
        "colors", partial(color_images, product=True), partial(color_options, product=True)
    ),
}


def run_service(name: str, images: list) -> list[dict[str, Any]]:
    """The fields service ``name`` gives each image with its default options (a flow's node)."""
    service = SERVICES[name]
    return service.run(images, **service.options({}))


def read_request(request: Request, name: str) -> tuple[Batch, dict[str, Any]]:
    """A ready service's request: its options checked, its records counted and decoded.

    Records count in the workspace the request names, else the user's default one: these services
    have no task to take it from. A bad option answers 400 before any record is counted.
    """
    if not isinstance(request.data, Mapping):
        raise ValidationError("The body must be a JSON object with records.")
    service = SERVICES[name]
    options = service.options(request.data)
    records = parse_records(request.data, max_records=settings.MAX_RECORDS)
    workspace, _ = resolve_workspace(request)
    count_records(workspace_id=workspace.id, service=service.usage, records=len(records))
    return Batch(records, decode_records(records, draft_side=settings.PREDICT_DECODE_MIN_SIDE or None)), options
