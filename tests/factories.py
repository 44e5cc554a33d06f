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


def colour_image_base64(index: int, colour: str, size: int = 32) -> str:
    """A noisy image dominated by one colour: a task a small CNN learns in a few epochs."""
    import numpy as np

    channel = {"red": 0, "green": 1, "blue": 2}[colour]
    rng = np.random.default_rng(index * 7919 + channel)  # not hash(colour): that changes per process
    pixels = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
    pixels[:, :, channel] = rng.integers(150, 256, (size, size), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
