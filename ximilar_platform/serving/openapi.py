"""Prediction request bodies as /api/schema/ describes them.

The views read ``request.data`` themselves (an unreadable record fails alone in the answer, which
a serializer cannot say), so these serializers only document the body: clients and the API fuzz
test (tests/ximilar_platform/test_fuzz.py) generate requests from them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


def record() -> serializers.Serializer:
    """One image to predict on; the record's other fields come back in its answer."""
    return inline_serializer(
        "PredictionRecord",
        {
            "_url": serializers.CharField(required=False, help_text="An http(s) URL of the image."),
            "_base64": serializers.CharField(required=False, help_text="The image file, base64-encoded."),
        },
    )


def prediction_body(name: str, max_records: int, **fields: Any) -> serializers.Serializer:
    """``records`` (1 to ``max_records``) plus the endpoint's own ``fields``."""
    records = serializers.ListField(child=record(), min_length=1, max_length=max_records)
    return inline_serializer(name, {**fields, "records": records})


def task_body(name: str, max_records: int, *, task_required: bool = True, **fields: Any) -> serializers.Serializer:
    """A body naming a task (and a version of it: none is the production one) and its records."""
    return prediction_body(
        name,
        max_records,
        task_id=serializers.UUIDField(required=task_required),
        version=serializers.IntegerField(required=False, allow_null=True, min_value=1),
        **fields,
    )


def store_images() -> serializers.BooleanField:
    return serializers.BooleanField(required=False, help_text="Keep each readable record as a training image.")
