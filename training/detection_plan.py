"""What a detection training will do, decided before it starts: image size, epochs, time budget, seconds.

Torch-free, so that the API can say how long a training is expected to take
(`ximilar_platform.training_jobs.estimates`) by the same rules the trainer (`training.detection`)
follows. Users do not tune, so what the spec leaves open is chosen from the data and the device:

* image size: the smallest of `IMAGE_SIZES` covering the median longer side of the images
  (ultralytics letterboxes the longer side), capped at 320 px on a CPU and 640 px on CUDA; a size
  given in the spec is rounded up to a multiple of 32, the network's stride;
* epochs: round(20000 / training images), between 30 and 150. A from-scratch YOLO finds nothing
  for its first few hundred steps, so small sets need many epochs (BENCHMARKS.md);
* a time budget (on a CPU by default, `DETECTION_CPU_TIME_BUDGET`): when those epochs would not
  fit in it, the image size drops to the largest that still affords `BUDGET_IMAGES_SEEN` images
  seen in the budget (160 px at least), and ultralytics' time mode fits the epochs to what the
  first epochs measure, annealing the learning rate within the budget. Epochs given in the spec
  are kept: no budget then (`max_seconds` still cuts).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IMAGE_SIZES = (160, 224, 320, 416, 512, 640)
CPU_MAX_SIZE, CUDA_MAX_SIZE = 320, 640
STRIDE = 32
MIN_EPOCHS, MAX_EPOCHS, IMAGES_SEEN = 30, 150, 20_000
BUDGET_IMAGES_SEEN = 12_000  # what a budget must afford at its image size; below it, a smaller size learns more
REFERENCE_SIZE = 160
# seconds one training image costs per epoch at REFERENCE_SIZE px (its training step and its share of
# validation), yolo11n, batch 16: 4.5 s an epoch of 240 images on 2 idle CPU cores (BENCHMARKS.md); the
# CUDA figure is a guess. The workers' own measurements replace them (`measured_rates`).
SECONDS_PER_IMAGE = {"cpu": 0.019, "cuda": 0.002}
FINISH_SECONDS = 20.0  # after the last epoch: the best epoch's validation, the ONNX export and its check
PREPARE_SECONDS_PER_IMAGE = 0.01  # before the first: decoding and writing the dataset
TRAIN_SHARE = 0.8  # of the images, in the training split (`training.detection_data.split_detection`)


@dataclass(frozen=True)
class DetectionPlan:
    """The resolved settings of one training and its expected wall-clock seconds.

    Attributes:
        image_size: The square network input.
        epochs: Passes over the training split; with a budget, ultralytics refits them to it.
        budget: Seconds of epochs (ultralytics' `time`) when the budget decides, else None.
        seconds: Expected seconds from the plan to the published artifact.
    """

    image_size: int
    epochs: int
    budget: float | None
    seconds: float


def round_up(size: int) -> int:
    """A multiple of the network's stride, at least one stride."""
    return max(STRIDE, math.ceil(size / STRIDE) * STRIDE)


def size_cap(device: str) -> int:
    return CUDA_MAX_SIZE if device.startswith("cuda") else CPU_MAX_SIZE


def choose_image_size(longer_sides: Sequence[int], device: str) -> int:
    """The smallest of `IMAGE_SIZES` at least the median longer side, capped by the device."""
    cap = size_cap(device)
    if not longer_sides:
        return cap
    median = statistics.median(longer_sides)
    return min(next((size for size in IMAGE_SIZES if size >= median), IMAGE_SIZES[-1]), cap)


def choose_epochs(train_images: int) -> int:
    """More passes over small sets, so that every set gets a few hundred optimiser steps and more."""
    return min(max(round(IMAGES_SEEN / max(train_images, 1)), MIN_EPOCHS), MAX_EPOCHS)


def epoch_seconds(train_images: int, image_size: int, device: str, rates: Mapping[str, float] | None = None) -> float:
    """Expected seconds of one epoch: the per-image cost grows with the input's pixels."""
    kind = _device_type(device)
    rate = (rates or {}).get(kind) or SECONDS_PER_IMAGE.get(kind, SECONDS_PER_IMAGE["cpu"])
    return rate * _work(train_images, image_size)


def plan_detection(
    *,
    train_images: int,
    longer_sides: Sequence[int],
    device: str,
    image_size: int | None = None,
    epochs: int | None = None,
    budget: float | None = None,
    rates: Mapping[str, float] | None = None,
) -> DetectionPlan:
    """Image size and epochs from the data, shrunk to a time budget when they would not fit it.

    Args:
        train_images: Images in the training split.
        longer_sides: Longer sides of the readable images, as decoded.
        device: "cpu" or "cuda[:n]".
        image_size: From the spec: kept (rounded up to the stride).
        epochs: From the spec: kept, and no budget applies.
        budget: Seconds for the whole training from here, or None.
        rates: Measured `SECONDS_PER_IMAGE` per device type, when known.
    """
    size = round_up(image_size) if image_size else choose_image_size(longer_sides, device)
    passes = epochs or choose_epochs(train_images)
    natural = passes * epoch_seconds(train_images, size, device, rates) + FINISH_SECONDS
    if epochs or not budget or natural <= budget:
        return DetectionPlan(image_size=size, epochs=passes, budget=None, seconds=natural)
    spend = max(budget - FINISH_SECONDS, 0.0)
    if not image_size:
        fitting = [
            candidate
            for candidate in IMAGE_SIZES
            if candidate <= size
            and spend / epoch_seconds(train_images, candidate, device, rates) * train_images >= BUDGET_IMAGES_SEEN
        ]
        size = max(fitting, default=min(IMAGE_SIZES[0], size))
    return DetectionPlan(image_size=size, epochs=passes, budget=spend, seconds=budget)


def expected_seconds(
    *,
    images: int,
    longer_sides: Sequence[int],
    device: str,
    image_size: int | None = None,
    epochs: int | None = None,
    budget: float | None = None,
    rates: Mapping[str, float] | None = None,
) -> float:
    """Seconds a training of `images` (test images left out) would take, by the trainer's own plan."""
    prepare = PREPARE_SECONDS_PER_IMAGE * images
    plan = plan_detection(
        train_images=max(round(TRAIN_SHARE * images), 1),
        longer_sides=longer_sides,
        device=device,
        image_size=image_size,
        epochs=epochs,
        budget=budget and max(budget - prepare, 0.0),
        rates=rates,
    )
    return prepare + plan.seconds


def measured_rates(manifests: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """`SECONDS_PER_IMAGE` per device type as the trainings of these manifests measured it (the first wins)."""
    rates: dict[str, float] = {}
    for manifest in manifests:
        seconds = manifest.get("metrics", {}).get("epoch_seconds")
        size = manifest.get("preprocessing", {}).get("image_size")
        images, device = manifest.get("train_size"), manifest.get("spec", {}).get("device")
        if seconds and size and images and device:
            rates.setdefault(_device_type(device), seconds / _work(images, size))
    return rates


def _work(train_images: int, image_size: int) -> float:
    """An epoch's work in reference images: images times their pixels relative to `REFERENCE_SIZE`."""
    return max(train_images, 1) * (image_size / REFERENCE_SIZE) ** 2


def _device_type(device: str) -> str:
    return device.split(":", 1)[0]
