"""Writes with no service of their own go through the API's serializers, so pages keep the API's rules."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.serializers import ModelSerializer


def save(
    serializer_class: type[ModelSerializer],
    data: dict[str, Any],
    request: HttpRequest,
    *,
    instance: Any = None,
    **extra: Any,
) -> Any:
    """Validate ``data`` as the API would (a ValidationError otherwise) and save it."""
    serializer = serializer_class(instance, data=data, partial=instance is not None, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.save(**extra)
