"""Training images decoded once into memory, and the fingerprint of a training's inputs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image

from inference.images import ImageLimits, InvalidImage, decode_bytes
from inference.preprocess import squash
from training.artifact import free_out_dir
from training.spec import RunOptions, Sample, TrainingSpec

S = TypeVar("S", bound=RunOptions)

IMAGE_SIZES = (32, 64, 96, 128, 160, 224)
PRETRAINED_MIN_SIZE = 64
SIZE_SAMPLE = 64
# Stored images already passed the upload limits; these only guard against absurd files.
LOAD_LIMITS = ImageLimits(max_bytes=256 * 1024 * 1024, max_pixels=400_000_000)


def begin(spec: S, out_dir: str | Path) -> tuple[S, str, Path]:
    """The start of every training: the device resolved into the spec, torch's threads set from
    it, and `out_dir` checked free (`training.artifact.free_out_dir`)."""
    out_dir = free_out_dir(out_dir)
    device = resolve_device(spec.device)
    if spec.num_threads:
        torch.set_num_threads(spec.num_threads)
    return replace(spec, device=device), device, out_dir


def resolve_device(device: str | None) -> str:
    """The device to train on: the one asked for, else CUDA when there is one."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def choose_image_size(shorter_sides: Sequence[int], device: str, *, pretrained: bool = False) -> int:
    """The input size for a task: the smallest of `IMAGE_SIZES` at least the median shorter side.

    The size is capped at 128 px on a CPU and 224 px on CUDA: small images are not blown up,
    and a CPU is not asked to train at 224 px. Pretrained backbones get at least 64 px: at 32
    their ImageNet features shrink to a single pixel (on 600 MNIST digits, EfficientNet-Lite0
    reached 0.91 accuracy at 32 px and 0.96 at 64 px in the same time).
    """
    cap = 224 if device.startswith("cuda") else 128
    if not shorter_sides:
        return cap
    median = max(float(np.median(shorter_sides)), PRETRAINED_MIN_SIZE if pretrained else 0)
    return min(next((size for size in IMAGE_SIZES if size >= median), IMAGE_SIZES[-1]), cap)


def shorter_sides(samples: Sequence[Sample], *, workers: int = 2) -> list[int]:
    """The shorter sides of up to 64 of `samples`, a choice that does not depend on their order."""
    chosen = sorted(samples, key=lambda s: hashlib.sha256(s.image_id.encode()).hexdigest())[:SIZE_SAMPLE]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [side for side in pool.map(shorter_side, chosen) if side is not None]


def shorter_side(sample: Sample) -> int | None:
    """From the file's header, no pixel decoded (a turn by EXIF orientation keeps the shorter side)."""
    try:
        with Image.open(sample.path) as image:
            return min(image.size)
    except (OSError, Image.DecompressionBombError, ValueError):
        return None


def load_pixels(
    samples: Sequence[Sample], image_size: int, *, workers: int = 2
) -> tuple[np.ndarray, list[Sample], list[str]]:
    """Decode every image once and keep it squashed to `image_size` as uint8, so epochs cost no decoding.

    Returns:
        Pixels (N, S, S, 3) of the readable samples, those samples in the same order, and the
        ids of the images that could not be read.
    """
    pixels = np.zeros((len(samples), image_size, image_size, 3), dtype=np.uint8)
    readable = np.zeros(len(samples), dtype=bool)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, squashed in enumerate(pool.map(lambda sample: _squashed(sample, image_size), samples)):
            if squashed is not None:
                pixels[i], readable[i] = squashed, True
    kept = [sample for sample, ok in zip(samples, readable, strict=True) if ok]
    unreadable = [sample.image_id for sample, ok in zip(samples, readable, strict=True) if not ok]
    return (pixels if readable.all() else pixels[readable]), kept, unreadable


def decode(sample: Sample, *, draft_side: int | None = None) -> Image.Image | None:
    """The image through the project's one decoder, or None when the file is missing or not an image."""
    draft = (draft_side, draft_side) if draft_side else None
    try:
        return decode_bytes(Path(sample.path).read_bytes(), LOAD_LIMITS, draft_size=draft).image
    except (OSError, InvalidImage):
        return None


def _squashed(sample: Sample, image_size: int) -> np.ndarray | None:
    """The image squashed to the input size; a JPEG decoded at libjpeg's smallest scale that keeps 2x that.

    A 4000 px photo for a 64 px model decodes at 1/8 scale: a fraction of the pixels, the same
    squashed input within rounding (the serving side decodes the same way, `PREDICT_DECODE_MIN_SIDE`).
    """
    image = decode(sample, draft_side=2 * image_size)
    return None if image is None else squash(image, image_size)


def data_hash(spec: TrainingSpec, samples: Sequence[Sample]) -> str:
    """sha256 of the spec and of every sample's id, file content, labels, value and test flag.

    Equal hashes mean a training would see the same inputs, so a caller may skip it. The spec
    is hashed as given (with the device resolved, since it decides the image size cap), apart
    from `num_threads`, which changes speed, not the model.
    """
    digest = hashlib.sha256()
    settings = asdict(replace(spec, device=resolve_device(spec.device), num_threads=None))
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for sample in sorted(samples, key=lambda s: s.image_id):
        record = [sample.image_id, file_sha256(sample.path), sorted(sample.labels), sample.value, sample.test]
        digest.update(json.dumps(record).encode() + b"\n")
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return "unreadable"
