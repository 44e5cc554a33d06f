"""Train an object detector (YOLO through ultralytics) and publish its artifact.

Users do not tune, so what the spec leaves open is chosen from the data and the device:

* image size: the smallest of 160/224/320/416/512/640 px covering the median longer side of
  the images (ultralytics letterboxes the longer side), capped at 320 px on a CPU and 640 px on
  CUDA; a size given in the spec is rounded up to a multiple of 32, the network's stride;
* epochs: round(20000 / training images), between 30 and 150. A from-scratch YOLO finds nothing
  for its first few hundred steps (ultralytics warms up for at least 100 iterations), so small
  sets need many epochs: 40 images reached mAP50 0.9 only after ~35 epochs (docs/ML_STACK.md);
  240 images of 3 shapes on textures reached 0.37 after 25 epochs, 0.90 after 60 and 0.93
  after 80 (BENCHMARKS.md), about 4.5 s per epoch at 160 px on 2 CPU cores;
* patience: a quarter of the epochs, at least 10 (ultralytics' early stopping keeps the best
  epoch; an all-zero start does not count as stagnation);
* device: CUDA when available. ultralytics runs with AMP off, no dataloader workers and no plots.

Images are split 80/20 by image, stratified by the labels they show (`training.detection_data`);
user-marked test images are evaluated apart. Metrics (mAP50, mAP50-95, precision, recall, per
label) come from ultralytics' validator on the best epoch.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from training.artifact import FORMAT_VERSION, free_out_dir, publish_files
from training.backbones import UnknownArchitecture
from training.data import resolve_device
from training.detection_data import YoloDataset, detection_data_hash, export_yolo_dataset
from training.spec import DetectionSample, DetectionSpec, Progress, TrainingError, TrainingResult
from training.yolo import ARCHITECTURES, YoloResult, YoloRun, train_yolo

IMAGE_SIZES = (160, 224, 320, 416, 512, 640)
CPU_MAX_SIZE, CUDA_MAX_SIZE = 320, 640
STRIDE = 32
MIN_EPOCHS, MAX_EPOCHS, IMAGES_SEEN = 30, 150, 20_000
MIN_PATIENCE = 10
METRIC_NAME = "mAP50"
DETECTORS: dict[str, Callable[..., YoloResult]] = dict.fromkeys(ARCHITECTURES, train_yolo)


def choose_image_size(longer_sides: Sequence[int], device: str) -> int:
    """The smallest of `IMAGE_SIZES` at least the median longer side, capped by the device."""
    cap = CUDA_MAX_SIZE if device.startswith("cuda") else CPU_MAX_SIZE
    if not longer_sides:
        return cap
    median = float(np.median(longer_sides))
    return min(next((size for size in IMAGE_SIZES if size >= median), IMAGE_SIZES[-1]), cap)


def choose_epochs(train_images: int) -> int:
    """More passes over small sets, so that every set gets a few hundred optimiser steps and more."""
    return int(np.clip(round(IMAGES_SEEN / max(train_images, 1)), MIN_EPOCHS, MAX_EPOCHS))


def train_detector(
    spec: DetectionSpec,
    samples: Sequence[DetectionSample],
    out_dir: str | Path,
    on_progress: Callable[[Progress], None] | None = None,
) -> TrainingResult:
    """Train on `samples` and publish the artifact at `out_dir` (model.onnx, model.pt, manifest.json).

    Files that cannot be decoded are left out and listed under `metrics["unreadable_images"]`.
    Metrics are measured on the validation split, or on train when there are too few images to
    hold some out (`metrics["evaluated_on"]`), and on the user's test images under `metrics["test"]`.

    Args:
        spec: What to train; None fields are chosen from the data (see the module docstring).
        samples: Training, validation and test images alike; images without boxes are negatives.
        out_dir: Must not exist yet; the artifact is written to `<out_dir>.part` and renamed.
        on_progress: Called after every epoch with the validation mAP50.

    Raises:
        TrainingError: Nothing to train on (no readable image, no box, a label without boxes).
        UnknownArchitecture: `spec.arch` is not in `DETECTORS`.
        FileExistsError: `out_dir` exists.
    """
    started = time.monotonic()
    out_dir = free_out_dir(out_dir)
    if spec.arch not in DETECTORS:
        raise UnknownArchitecture(f"Unknown detector {spec.arch!r}; known: {', '.join(sorted(DETECTORS))}")
    if not spec.labels:
        raise TrainingError("A detection task needs at least 1 label.")
    if not any(not s.test for s in samples):
        raise TrainingError("There are no training images.")
    device = resolve_device(spec.device)
    spec = replace(spec, device=device)
    fingerprint = detection_data_hash(spec, samples)
    root = Path(spec.work_dir) if spec.work_dir else None
    if root:
        root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="detection-", dir=root))
    try:
        cap = (
            _round_up(spec.image_size)
            if spec.image_size
            else (CUDA_MAX_SIZE if device.startswith("cuda") else CPU_MAX_SIZE)
        )
        dataset = export_yolo_dataset(samples, spec.labels, work / "dataset", max_side=cap, seed=spec.seed)
        _check(dataset, spec.labels)
        spec = replace(
            spec,
            image_size=_round_up(spec.image_size)
            if spec.image_size
            else choose_image_size(dataset.longer_sides, device),
        )
        epochs = spec.epochs or choose_epochs(len(dataset.split.train))
        spec = replace(spec, epochs=epochs, patience=spec.patience or max(MIN_PATIENCE, epochs // 4))
        fitted = _fit(spec, dataset, work, started, on_progress)
        sizes = {
            "train_size": len(dataset.split.train),
            "validation_size": len(dataset.split.validation),
            "test_size": len(dataset.split.test),
        }
        metrics = fitted.validation | {
            "evaluated_on": "validation" if dataset.split.validation else "train",
            "validation_size": sizes["validation_size"],
            "unreadable_images": dataset.unreadable,
            "best_epoch": fitted.best_epoch,
            "epochs_run": fitted.epochs_run,
            "stopped": fitted.stopped,
        }
        if fitted.test is not None:
            metrics["test"] = fitted.test | {"test_size": sizes["test_size"]}
        manifest = {
            "format_version": FORMAT_VERSION,
            "task_type": "detection",
            "arch": spec.arch,
            "labels": list(spec.labels),
            "preprocessing": {"image_size": spec.image_size, "resize": "letterbox"},
            "pretrained": fitted.pretrained,
            "metrics": metrics,
            "data_hash": fingerprint,
            "spec": asdict(spec),
            **sizes,
        }
        publish_files({"model.onnx": fitted.onnx, "model.pt": fitted.weights}, manifest, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TrainingResult(
        artifact_dir=str(out_dir), metrics=metrics, data_hash=fingerprint, seconds=time.monotonic() - started, **sizes
    )


def _fit(
    spec: DetectionSpec,
    dataset: YoloDataset,
    work: Path,
    started: float,
    on_progress: Callable[[Progress], None] | None,
) -> YoloResult:
    def report(epoch: int, epochs: int, loss: float, metric: float) -> None:
        if on_progress:
            on_progress(Progress(epoch=epoch, epochs=epochs, loss=loss, metric_name=METRIC_NAME, metric=metric))

    assert spec.image_size and spec.epochs and spec.patience and spec.device  # resolved by the caller
    run = YoloRun(
        arch=spec.arch,
        data_yaml=dataset.data_yaml,
        work_dir=work / "runs",
        config_dir=Path(spec.work_dir, "ultralytics") if spec.work_dir else None,
        labels=spec.labels,
        image_size=spec.image_size,
        epochs=spec.epochs,
        patience=spec.patience,
        batch_size=spec.batch_size,
        seed=spec.seed,
        device=spec.device,
        weights_dir=spec.weights_dir,
        num_threads=spec.num_threads,
        deadline=started + spec.max_seconds if spec.max_seconds else None,
        has_test=bool(dataset.split.test),
    )
    return DETECTORS[spec.arch](run, report)


def _check(dataset: YoloDataset, labels: Sequence[str]) -> None:
    """Refuse data a detector cannot learn from, with a message the data's owner can act on."""
    train = dataset.split.train
    if not train:
        raise TrainingError("None of the training images can be read.")
    boxed = {box.label for sample in train for box in sample.boxes}
    if not boxed & set(labels):
        raise TrainingError("None of the training images has an object box of the task's labels.")
    missing = [label for label in labels if label not in boxed]
    if missing:
        raise TrainingError(f"These labels have no object box on the training images: {', '.join(missing)}.")


def _round_up(size: int) -> int:
    return max(STRIDE, math.ceil(size / STRIDE) * STRIDE)
