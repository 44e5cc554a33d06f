"""Serializer fields shared by many entities."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty


class OptionalText(serializers.CharField):
    """Text that may be omitted, empty or null (the official client sends ``None``); stored as ``""`` then."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default", "")
        super().__init__(required=False, allow_blank=True, allow_null=True, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        value = super().run_validation(data)
        return "" if value is None else value
