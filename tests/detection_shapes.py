"""Synthetic detection data: filled rectangles and circles of varied size and colour on a noisy texture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from training.spec import Box, DetectionSample

LABELS = ("rect", "circle")


def shapes_image(
    rng: np.random.Generator, width: int = 160, height: int = 160, objects: int = 2
) -> tuple[Image.Image, tuple[Box, ...]]:
    """An image with up to `objects` non-overlapping shapes, 18-45 % of the shorter side, and their boxes."""
    base = rng.integers(40, 200, 3)
    stripes = 30 * np.sin(np.arange(width) / rng.uniform(3, 9))[None, :, None]
    pixels = base + rng.normal(0, 25, (height, width, 3)) + stripes
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    pen, boxes = ImageDraw.Draw(image), []
    for _ in range(objects * 10):
        if len(boxes) == objects:
            break
        label = LABELS[int(rng.integers(2))]
        side = int(min(width, height) * rng.uniform(0.18, 0.45))
        w = side if label == "circle" else int(side * rng.uniform(0.6, 1.4))
        x0, y0 = int(rng.integers(0, width - w)), int(rng.integers(0, height - side))
        box = Box(label, x0, y0, x0 + w, y0 + side)
        if any(
            box.xmin < b.xmax + 2 and b.xmin < box.xmax + 2 and box.ymin < b.ymax + 2 and b.ymin < box.ymax + 2
            for b in boxes
        ):
            continue
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = pen.rectangle if label == "rect" else pen.ellipse
        shape([x0, y0, x0 + w - 1, y0 + side - 1], fill=colour, outline=(0, 0, 0), width=2)
        boxes.append(box)
    return image, tuple(boxes)


def shapes_samples(
    folder: Path, count: int, *, seed: int = 0, size: int = 160, negatives: int = 0, tests: int = 0
) -> list[DetectionSample]:
    """`count` images written to `folder`: the first `negatives` have no shapes, the last `tests` are test images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        image, boxes = shapes_image(rng, size, size, objects=0 if i < negatives else int(rng.integers(1, 3)))
        path = folder / f"{i:03d}.png"
        image.save(path)
        samples.append(DetectionSample(f"img{i:03d}", str(path), boxes, test=i >= count - tests))
    return samples
