"""Ximilar's prediction envelope (contract §1.3, §6), and the one loop that pairs records with results.

A bad record fails alone with its own ``_status``; the others get their results. ``store_images``
keeps each readable record as a training image and answers its id.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from rest_framework.response import Response

from inference.images import DecodedImage, InvalidImage
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.images import services as image_services
from ximilar_platform.serving.requests import Batch

OK = {"code": 200, "text": "OK"}
HIDDEN_FIELDS = {"_base64", "base64"}


def respond(
    batch: Batch, outputs: Iterable[dict[str, Any]], *, started: float, store_in: Workspace | None = None, **fields: Any
) -> Response:
    """The answer to a prediction request: ``outputs`` holds one dict of fields per readable record, in order."""
    return Response(envelope(results(batch, outputs, store_in=store_in), started, **fields))


def results(batch: Batch, outputs: Iterable[dict[str, Any]], *, store_in: Workspace | None) -> list[dict[str, Any]]:
    outputs = iter(outputs)
    answered = []
    for record, item in zip(batch.records, batch.decoded, strict=True):
        if isinstance(item, InvalidImage):
            answered.append({**echo(record), "_status": {"code": item.status, "text": item.message}})
            continue
        output = dict(next(outputs))
        if store_in is not None:
            output["_stored_image_id"] = str(store_image(store_in, item))
        size = {"_width": item.full_size[0], "_height": item.full_size[1]}
        answered.append({**echo(record), "_status": dict(OK), **size, **output})
    return answered


def echo(record: dict[str, Any]) -> dict[str, Any]:
    """The record's own fields go back to the caller, except the (large) image data."""
    return {key: value for key, value in record.items() if key not in HIDDEN_FIELDS}


def envelope(records: list[dict[str, Any]], started: float, **fields: Any) -> dict[str, Any]:
    return {
        **fields,
        "records": records,
        "status": {**OK, "request_id": str(uuid.uuid4())},
        "statistics": {"processing time": round(time.perf_counter() - started, 4)},
    }


def store_image(workspace: Workspace, decoded: DecodedImage) -> uuid.UUID:
    """``store_images``: keep a predicted record as a training image (the existing one if a duplicate)."""
    options = image_services.ImageOptions(meta_data={})
    try:
        return image_services.ingest_training_image(workspace=workspace, decoded=decoded, options=options).id
    except image_services.ImageAlreadyExists as exists:
        return exists.image_id
