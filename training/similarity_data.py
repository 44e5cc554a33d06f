"""Similarity training data: each sample's crop (its object box, else the whole image), decoded once."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace

import numpy as np
from PIL import Image

from inference.preprocess import squash
from training.data import decode, file_sha256, resolve_device
from training.spec import EmbeddingSample, EmbeddingSpec


def crop_box(image: Image.Image, box: tuple[float, float, float, float] | None) -> Image.Image | None:
    """The part of `image` inside `box` (clamped to the image, widened to whole pixels); None when empty."""
    if box is None:
        return image
    xmin, ymin = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    xmax, ymax = min(image.width, math.ceil(box[2])), min(image.height, math.ceil(box[3]))
    return image.crop((xmin, ymin, xmax, ymax)) if xmax > xmin and ymax > ymin else None


def load_crops(
    samples: Sequence[EmbeddingSample], image_size: int, *, workers: int = 2
) -> tuple[np.ndarray, list[EmbeddingSample], list[str]]:
    """Decode every image once, crop its box and squash it to `image_size` as uint8.

    Returns:
        Pixels (N, S, S, 3) of the usable samples, those samples in order, and the ids of the
        images that could not be read or whose box holds no pixel.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        crops = list(pool.map(lambda s: _squashed_crop(s, image_size), samples))
    kept = [sample for sample, crop in zip(samples, crops, strict=True) if crop is not None]
    unreadable = [sample.image_id for sample, crop in zip(samples, crops, strict=True) if crop is None]
    pixels = (
        np.stack([c for c in crops if c is not None])
        if kept
        else np.zeros((0, image_size, image_size, 3), dtype=np.uint8)
    )
    return pixels, kept, unreadable


def embedding_data_hash(spec: EmbeddingSpec, samples: Sequence[EmbeddingSample]) -> str:
    """sha256 of the spec (device resolved, threads left out) and each sample's id, file, group, test flag and box."""
    digest = hashlib.sha256()
    settings = asdict(replace(spec, device=resolve_device(spec.device), num_threads=None))
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for s in sorted(samples, key=lambda s: s.image_id):
        record = [s.image_id, file_sha256(s.path), s.group, s.test, list(s.box) if s.box else None]
        digest.update(json.dumps(record).encode() + b"\n")
    return digest.hexdigest()


def crop_of(sample: EmbeddingSample) -> Image.Image | None:
    image = decode(sample)  # type: ignore[arg-type]  # decode only reads .path
    return None if image is None else crop_box(image, sample.box)


def _squashed_crop(sample: EmbeddingSample, image_size: int) -> np.ndarray | None:
    crop = crop_of(sample)
    return None if crop is None else squash(crop, image_size)
