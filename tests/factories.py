"""Test data builders: tiny in-memory images."""

from __future__ import annotations

import base64
import io

from PIL import Image


def image_bytes(
    color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 30), fmt: str = "PNG"
) -> bytes:
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


def item_view_base64(item: int, view: int, size: int = 32) -> str:
    """View `view` of synthetic item `item`: the item's own colour blocks, shifted and noised per view."""
    import numpy as np

    pattern = np.random.default_rng(1000 + item).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    pixels = np.kron(pattern, np.ones((size // 4, size // 4, 1), dtype=np.uint8)).astype(np.int16)
    rng = np.random.default_rng(item * 97 + view)
    pixels = np.roll(pixels, tuple(int(v) for v in rng.integers(-2, 3, 2)), axis=(0, 1))
    pixels = np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
