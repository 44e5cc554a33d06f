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
    scaled = pixels.astype(np.float32) / np.float32(255.0)
    batch = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def to_batch(images: Sequence[Image.Image], image_size: int, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """The network input for `images`: squash-resize (bilinear), scale to 0..1, normalise per channel.

    Returns:
        float32 array of shape (N, 3, image_size, image_size).
    """
    if not images:
        return np.zeros((0, 3, image_size, image_size), dtype=np.float32)
    return normalise(np.stack([squash(image, image_size) for image in images]), mean, std)


LETTERBOX_PAD = 114  # ultralytics' grey, which detectors are trained with


def letterbox(image: Image.Image, image_size: int) -> tuple[np.ndarray, float, float, int, int]:
    """Fit the image into an `image_size` square, keeping its aspect, centred on grey, as ultralytics' `LetterBox`.

    The resize is bilinear without antialiasing, as OpenCV's INTER_LINEAR, which ultralytics
    trains and predicts with; Pillow's antialiased resize would shift scores on downscaled photos.

    Returns:
        uint8 (S, S, 3) RGB pixels, the x and y scale from image to square, and the left and top padding.
    """
    pixels = np.asarray(image.convert("RGB"))
    height, width = pixels.shape[:2]
    gain = min(image_size / height, image_size / width)
    new_w, new_h = max(round(width * gain), 1), max(round(height * gain), 1)
    left, top = round((image_size - new_w) / 2 - 0.1), round((image_size - new_h) / 2 - 0.1)
    canvas = np.full((image_size, image_size, 3), LETTERBOX_PAD, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = _bilinear(pixels, new_w, new_h)
    return canvas, new_w / width, new_h / height, left, top


def _bilinear(pixels: np.ndarray, new_w: int, new_h: int) -> np.ndarray:
    if (new_h, new_w) == pixels.shape[:2]:
        return pixels
    y0, fy = _taps(pixels.shape[0], new_h)
    x0, fx = _taps(pixels.shape[1], new_w)
    y1, x1 = np.minimum(y0 + 1, pixels.shape[0] - 1), np.minimum(x0 + 1, pixels.shape[1] - 1)
    rows = pixels[y0].astype(np.float32) * (1 - fy)[:, None, None] + pixels[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _taps(size: int, new_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Source index and weight of each output pixel, with OpenCV's half-pixel centres and edge clamping."""
    source = (np.arange(new_size, dtype=np.float64) + 0.5) * (size / new_size) - 0.5
    first = np.floor(source)
    weight = (source - first).astype(np.float32)
    weight[(first < 0) | (first >= size - 1)] = 0
    return np.clip(first, 0, size - 1).astype(np.intp), weight
