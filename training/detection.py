"""Train an object detector (YOLO through ultralytics) and publish its artifact.

Image size, epochs and the time budget are planned by `training.detection_plan` (the API's
estimate of a training's duration follows the same rules). Patience is a quarter of the epochs, at
least 10 (ultralytics' early stopping keeps the best epoch; an all-zero start does not count as
stagnation). Device: CUDA when available. ultralytics runs with AMP off, no dataloader workers and
no plots.

Images are split 80/20 by image, stratified by the labels they show (`training.detection_data`);
user-marked test images are evaluated apart. Metrics (mAP50, mAP50-95, precision, recall, per
label) come from ultralytics' validator on the best epoch.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from training.artifact import FORMAT_VERSION, free_out_dir, publish_files
from training.backbones import UnknownArchitecture
from training.data import resolve_device
from training.detection_data import YoloDataset, detection_data_hash, export_yolo_dataset
from training.detection_plan import DetectionPlan, plan_detection, round_up, size_cap
from training.spec import DetectionSample, DetectionSpec, Progress, TrainingError, TrainingResult
from training.yolo import ARCHITECTURES, YoloResult, YoloRun, train_yolo

MIN_PATIENCE = 10
METRIC_NAME = "mAP50"
DETECTORS: dict[str, Callable[..., YoloResult]] = dict.fromkeys(ARCHITECTURES, train_yolo)


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
        cap = round_up(spec.image_size) if spec.image_size else size_cap(device)
        dataset = export_yolo_dataset(samples, spec.labels, work / "dataset", max_side=cap, seed=spec.seed)
        _check(dataset, spec.labels)
        plan = plan_detection(
            train_images=len(dataset.split.train),
            longer_sides=dataset.longer_sides,
            device=device,
            image_size=spec.image_size,
            epochs=spec.epochs,
            budget=_budget_left(spec, started),
        )
        spec = replace(
            spec,
            image_size=plan.image_size,
            epochs=plan.epochs,
            patience=spec.patience or max(MIN_PATIENCE, plan.epochs // 4),
        )
        fitted = _fit(spec, plan, dataset, work, started, on_progress)
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
            "time_budget": plan.budget,
            "epoch_seconds": fitted.epoch_seconds,
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
    plan: DetectionPlan,
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
        epochs_until=time.monotonic() + plan.budget if plan.budget is not None else None,
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


def _budget_left(spec: DetectionSpec, started: float) -> float | None:
    """Seconds left of the CPU time budget (capped by `max_seconds`), or None without a budget."""
    assert spec.device  # resolved by the caller
    if not spec.cpu_time_budget or spec.device != "cpu":
        return None
    budget = min(spec.cpu_time_budget, spec.max_seconds or spec.cpu_time_budget)
    return max(budget - (time.monotonic() - started), 0.0)
