"""Test data builders: tiny in-memory images."""

from __future__ import annotations

import base64
import io

from PIL import Image


def image_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 30), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def image_base64(*args, **kwargs) -> str:
    return base64.b64encode(image_bytes(*args, **kwargs)).decode()
