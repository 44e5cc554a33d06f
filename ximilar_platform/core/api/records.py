"""Prediction requests: ``records`` in, Ximilar's envelope out (contract §1.3, §6).

A bad record fails alone (its ``_status``); the whole request fails only for request-level
problems, answered with a non-200 ``status.code`` that the official client raises on.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from rest_framework.exceptions import ValidationError

from inference.images import DecodedImage, ImageLimits, InvalidImage, UrlPolicy, decode_record

OK = {"code": 200, "text": "OK"}
HIDDEN_FIELDS = {"_base64", "base64"}


def parse_records(data: Any, *, max_records: int) -> list[dict[str, Any]]:
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list) or not records:
        raise ValidationError({"records": ["Give a non-empty list of records."]})
    if len(records) > max_records:
        raise ValidationError({"records": [f"At most {max_records} records per request; got {len(records)}."]})
    if not all(isinstance(record, dict) for record in records):
        raise ValidationError({"records": ["Every record must be a JSON object."]})
    return records


def decode_all(records: list[dict], limits: ImageLimits, policy: UrlPolicy) -> list[DecodedImage | InvalidImage]:
    results: list[DecodedImage | InvalidImage] = []
    for record in records:
        try:
            results.append(decode_record(record, limits, policy))
        except InvalidImage as error:
            results.append(error)
    return results


def echo(record: dict[str, Any]) -> dict[str, Any]:
    """The record's own fields go back to the caller, except the (large) image data."""
    return {key: value for key, value in record.items() if key not in HIDDEN_FIELDS}


def failed(record: dict[str, Any], error: InvalidImage) -> dict[str, Any]:
    return {**echo(record), "_status": {"code": error.status, "text": error.message}}


def succeeded(record: dict[str, Any], image: DecodedImage, **fields: Any) -> dict[str, Any]:
    size = {"_width": image.image.width, "_height": image.image.height}
    return {**echo(record), "_status": dict(OK), **size, **fields}


def envelope(records: list[dict[str, Any]], started: float, **fields: Any) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    return {
        **fields,
        "records": records,
        "status": {**OK, "request_id": request_id},
        "statistics": {"processing time": round(time.perf_counter() - started, 4)},
    }
