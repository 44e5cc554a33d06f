"""Image-to-tensor preprocessing shared by training's evaluation and serving, so that both agree exactly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def squash(image: Image.Image, image_size: int) -> np.ndarray:
    """Resize to `image_size` square, ignoring the aspect ratio, as uint8 (S, S, 3).

    Squashing rather than cropping keeps the whole frame: a label may depend on its border.
    """
    resized = image.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def normalise(pixels: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Turn uint8 (N, H, W, 3) pixels into the float32 (N, 3, H, W) network input."""
    batch = pixels.astype(np.float32) / np.float32(255.0)
    batch = (batch - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def to_batch(
    images: Sequence[Image.Image], image_size: int, mean: Sequence[float], std: Sequence[float]
) -> np.ndarray:
    """The network input for `images`: squash-resize (bilinear), scale to 0..1, normalise per channel.

    Returns:
        float32 array of shape (N, 3, image_size, image_size).
    """
    if not images:
        return np.zeros((0, 3, image_size, image_size), dtype=np.float32)
    return normalise(np.stack([squash(image, image_size) for image in images]), mean, std)
