"""Train a categorization (softmax), tagging (sigmoid) or regression model and publish its artifact.

Users do not tune, so what the spec leaves open is chosen from the data:

* image size: the smallest of 32/64/96/128/160/224 px covering the median shorter side of the
  images, at least 64 px for pretrained backbones, capped at 128 px on a CPU and 224 px on CUDA
  (`training.data.choose_image_size`);
* epochs: round(10000 / training images), between 5 and 30, so small sets get enough steps and
  large ones a bounded time; early stopping (patience 4, best epoch kept) always runs, in the
  second half of the epochs (`training.loop.fit`);
* learning rate: AdamW at a 1e-3 peak with a one-cycle schedule (15 % warm-up), from scratch
  and for fine-tuning alike; pretrained heads start at zero (`training.backbones`);
* imbalance: class-weighted cross-entropy (multi_class), `pos_weight` per tag (multi_label);
  regression targets are standardised over the training split.

Categorization and tagging on a pretrained EfficientNet may first publish a quick version, a
linear head on frozen features (`training.quick`), handed to the caller before the fine-tune.

Training augments with a random resized crop (scale 0.7-1), without flips (see
`training.loop`); evaluation uses `inference.preprocess`, as serving does, so validation
numbers are what users will get.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, normalise
from training import quick
from training.artifact import FORMAT_VERSION, squash_preprocessing, write_artifact
from training.backbones import create_backbone
from training.data import begin, choose_image_size, data_hash, load_pixels, shorter_sides
from training.loop import Images, fit, predict
from training.spec import Progress, Sample, TrainingError, TrainingResult, TrainingSpec
from training.split import split_samples
from training.tasks import Task, make_task

MIN_EPOCHS, MAX_EPOCHS, IMAGES_SEEN = 5, 30, 10_000
LEARNING_RATE = 1e-3
ONNX_CHECK_IMAGES = 8
QUICK_TASK_TYPES = ("multi_class", "multi_label")


def train(
    spec: TrainingSpec,
    samples: Sequence[Sample],
    out_dir: str | Path,
    on_progress: Callable[[Progress], None] | None = None,
    on_version: Callable[[TrainingResult], None] | None = None,
) -> TrainingResult:
    """Train on `samples` and publish the artifact at `out_dir` (model.onnx, model.pt, manifest.json).

    Samples without a target for this task (no known label, no value) are left out, as are
    files that cannot be decoded (listed under `metrics["unreadable_images"]`). Metrics are
    measured on the validation split, or on train when there are too few images to hold
    some out (`metrics["evaluated_on"]`), and on the user's test images under `metrics["test"]`.
    With `spec.quick_first_version` (see `quick_applies`), a first artifact from a linear head on
    frozen features (`training.quick`) is published at `<out_dir>-quick` and handed to
    `on_version` before the fine-tune starts.

    Args:
        spec: What to train; None fields are chosen from the data (see the module docstring).
        samples: Training, validation and test images alike; `split_samples` divides them.
        out_dir: Must not exist yet; the artifact is written to `<out_dir>.part` and renamed.
        on_progress: Called after every epoch with the validation metric.
        on_version: Called with the quick artifact, already published; without it no quick
            model is trained.

    Raises:
        TrainingError: The data cannot be trained on (no usable image, a label without images).
        FileExistsError: `out_dir` exists.
    """
    started = time.monotonic()
    spec, device, out_dir = begin(spec, out_dir)
    task = make_task(spec)
    fingerprint = data_hash(spec, samples)
    torch.manual_seed(spec.seed)
    model, pretrained = create_backbone(spec.arch, len(task.outputs), weights_dir=spec.weights_dir)
    data = _load(spec, task, samples, device=device, pretrained=pretrained)
    spec = replace(
        spec,
        image_size=data.image_size,
        epochs=spec.epochs or int(np.clip(round(IMAGES_SEEN / len(data.train.samples)), MIN_EPOCHS, MAX_EPOCHS)),
        learning_rate=spec.learning_rate or LEARNING_RATE,
    )
    if on_version is not None and quick_applies(spec, model, pretrained=pretrained):
        quick_dir = out_dir.with_name(out_dir.name + "-quick")
        on_version(_train_quick(model, task, spec, data, quick_dir, fingerprint, started, on_progress))
    watch = _watched(data)
    deadline = started + spec.max_seconds if spec.max_seconds else None
    fitted = fit(model.to(device), task, spec, data.train, watch, deadline=deadline, on_progress=on_progress)
    model.load_state_dict(fitted.state)
    test_outputs = predict(model, data.test.pixels, device) if data.test.samples else None
    metrics = _metrics(task, data, predict(model, watch.pixels, device), test_outputs) | fitted.summary
    manifest = _manifest(spec, task, data, metrics, fingerprint, pretrained=pretrained, phase="fine_tune")
    write_artifact(model, manifest, out_dir, _check_inputs(watch))
    return _result(out_dir, metrics, fingerprint, data, started)


def quick_applies(spec: TrainingSpec, model: nn.Module, *, pretrained: bool) -> bool:
    """A quick first version needs categorization or tagging on a pretrained backbone it can tap."""
    return spec.quick_first_version and pretrained and spec.task_type in QUICK_TASK_TYPES and quick.supports(model)


def _train_quick(
    model: nn.Module,
    task: Task,
    spec: TrainingSpec,
    data: _Data,
    out_dir: Path,
    fingerprint: str,
    started: float,
    on_progress: Callable[[Progress], None] | None,
) -> TrainingResult:
    """Fit the linear head on frozen features, report it as epoch 0 and publish its artifact."""
    assert spec.device is not None and spec.epochs is not None
    watch = _watched(data)
    train_set = (data.train.pixels, data.train.samples)
    with torch.random.fork_rng(devices=[]):  # the fine-tune draws the same numbers with or without it
        fitted = quick.fit_quick(
            model, task, train_set, watch.pixels, data.test.pixels, device=spec.device, seed=spec.seed
        )
    metrics = _metrics(task, data, fitted.watch_outputs, fitted.test_outputs)
    name, value, _ = task.score(fitted.watch_outputs, watch.samples)
    if on_progress is not None:
        on_progress(Progress(0, spec.epochs, round(fitted.loss, 5), name, round(value, 5), phase="quick"))
    manifest = _manifest(spec, task, data, metrics, fingerprint, pretrained=True, phase="quick")
    write_artifact(fitted.model, manifest, out_dir, _check_inputs(watch))
    return _result(out_dir, metrics, fingerprint, data, started)


def _watched(data: _Data) -> Images[Sample]:
    """The split that metrics and early stopping follow: validation, else train."""
    return data.validation if data.validation.samples else data.train


def _check_inputs(watch: Images[Sample]) -> np.ndarray:
    return normalise(watch.pixels[:ONNX_CHECK_IMAGES], IMAGENET_MEAN, IMAGENET_STD)


def _manifest(
    spec: TrainingSpec,
    task: Task,
    data: _Data,
    metrics: dict[str, Any],
    fingerprint: str,
    *,
    pretrained: bool,
    phase: str,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "task_type": spec.task_type,
        "arch": spec.arch,
        "phase": phase,
        "labels": task.outputs,
        "preprocessing": squash_preprocessing(data.image_size),
        **task.manifest_fields(),
        "pretrained": pretrained,
        "metrics": metrics,
        "data_hash": fingerprint,
        "spec": asdict(spec),
        **_sizes(data),
    }


def _sizes(data: _Data) -> dict[str, int]:
    return {f"{name}_size": len(getattr(data, name).samples) for name in ("train", "validation", "test")}


def _result(out_dir: Path, metrics: dict[str, Any], fingerprint: str, data: _Data, started: float) -> TrainingResult:
    seconds = time.monotonic() - started
    return TrainingResult(
        artifact_dir=str(out_dir), metrics=metrics, data_hash=fingerprint, seconds=seconds, **_sizes(data)
    )


@dataclass(frozen=True)
class _Data:
    image_size: int
    train: Images[Sample]
    validation: Images[Sample]
    test: Images[Sample]
    unreadable: list[str]


def _load(spec: TrainingSpec, task: Task, samples: Sequence[Sample], *, device: str, pretrained: bool) -> _Data:
    """Keep the samples with a target, decode them once at the chosen size, split and check them."""
    usable = [s for s in samples if task.usable(s)]
    if not any(not s.test for s in usable):
        raise TrainingError("There are no labelled training images.")
    workers = torch.get_num_threads()
    image_size = spec.image_size or choose_image_size(
        shorter_sides([s for s in usable if not s.test], workers=workers), device, pretrained=pretrained
    )
    pixels, readable, unreadable = load_pixels(usable, image_size, workers=workers)
    split = split_samples(readable, task_type=spec.task_type, seed=spec.seed)
    if not split.train:
        raise TrainingError("None of the training images can be read.")
    task.fit(split.train)
    position = {sample.image_id: i for i, sample in enumerate(readable)}

    def subset(members: list[Sample]) -> Images[Sample]:
        return Images(pixels[[position[s.image_id] for s in members]], members)

    return _Data(image_size, subset(split.train), subset(split.validation), subset(split.test), unreadable)


def _metrics(task: Task, data: _Data, watch_outputs: np.ndarray, test_outputs: np.ndarray | None) -> dict[str, Any]:
    """Metrics on validation (on train when there is none), after tuning thresholds there; test apart."""
    watch = _watched(data)
    if data.validation.samples:
        task.calibrate(watch_outputs, watch.samples)
    metrics = task.evaluate(watch_outputs, watch.samples) | {
        "validation_size": len(data.validation.samples),
        "evaluated_on": "validation" if data.validation.samples else "train",
        "unreadable_images": data.unreadable,
    }
    if data.test.samples and test_outputs is not None:
        metrics["test"] = task.evaluate(test_outputs, data.test.samples) | {"test_size": len(data.test.samples)}
    return metrics
