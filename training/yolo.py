"""The ultralytics YOLO backend of `training.detection`: train on a written dataset, evaluate, export ONNX.

The only training module that imports ultralytics, inside functions, after
`inference.yolo_torch.prepare_ultralytics` has switched its network use off. Models are
built from the package's yaml (random init) or from a local checkpoint, never from a hub name
such as "yolo11n.pt", which ultralytics would download.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from inference.onnx_export import ONNX_OPSET, ONNX_TOLERANCE
from inference.yolo_torch import prepare_ultralytics

ARCHITECTURES = ("yolo11n", "yolov8n")
MAP50 = "metrics/mAP50(B)"
EpochCallback = Callable[[int, int, float, float], None]


@dataclass(frozen=True)
class YoloRun:
    """One training: the dataset, where ultralytics may write, and the resolved settings."""

    arch: str
    data_yaml: Path
    work_dir: Path  # the run's own folder: ultralytics writes checkpoints, label caches and exports under it
    config_dir: Path | None
    labels: Sequence[str]
    image_size: int
    epochs: int
    patience: int
    batch_size: int
    seed: int
    device: str
    weights_dir: str | None = None
    num_threads: int | None = None
    deadline: float | None = None  # time.monotonic() value past which no new epoch starts
    epochs_until: float | None = None  # time.monotonic() value by which the epochs should end: ultralytics'
    # time mode fits the epochs and the LR schedule to what is left when training starts
    has_test: bool = False


@dataclass(frozen=True)
class YoloResult:
    """The best checkpoint, its ONNX export and its metrics (`training.detection` names)."""

    weights: Path
    onnx: Path
    validation: dict[str, Any]
    test: dict[str, Any] | None
    pretrained: bool
    epochs_run: int
    best_epoch: int
    stopped: str | None
    epoch_seconds: float | None  # mean wall-clock seconds of an epoch, validation included


def train_yolo(run: YoloRun, on_epoch: EpochCallback | None = None) -> YoloResult:
    """Train, keep the best epoch by ultralytics' fitness, evaluate it on val (and test), export it.

    `on_epoch(epoch, epochs, loss, map50)` is called after each epoch's validation.
    """
    # ultralytics' device selection sets torch to (cores - 1) threads; without a spec'd count, keep
    # the process's own (1 of 2 cores made CPU epochs ~1.6x slower)
    run = replace(run, num_threads=run.num_threads or torch.get_num_threads())
    prepare_ultralytics(run.config_dir)
    from ultralytics import YOLO

    local = Path(run.weights_dir, f"{run.arch}.pt") if run.weights_dir else None
    pretrained = local is not None and local.is_file()
    model = YOLO(str(local.resolve()) if local is not None and pretrained else f"{run.arch}.yaml", task="detect")
    progress = _Progress(run, on_epoch)
    for event in ("on_train_start", "on_train_epoch_end", "on_fit_epoch_end"):
        model.add_callback(event, getattr(progress, event))
    device = _ultralytics_device(run.device)
    common = {
        "imgsz": run.image_size,
        "batch": run.batch_size,
        "device": device,
        "workers": 0,
        "plots": False,
        "project": str(run.work_dir.resolve()),
        "exist_ok": True,
        "verbose": False,
    }
    model.train(
        data=str(run.data_yaml),
        epochs=run.epochs,
        patience=run.patience,
        seed=run.seed,
        amp=False,
        # one optimiser step per batch: ultralytics' nominal batch of 64 would accumulate 4 batches of 16,
        # a quarter of the steps; 240 shapes images at 160 px reached mAP50 0.95 in 40 epochs, where
        # 80 epochs with accumulation reached 0.93 (BENCHMARKS.md)
        nbs=run.batch_size,
        name="train",
        time=_hours_left(run.epochs_until) if run.epochs_until else None,
        **common,
    )
    trainer = model.trainer
    best = Path(trainer.best if trainer.best.exists() else trainer.last)
    validation = metrics_of(model.metrics, run.labels)
    test = None
    if run.has_test:
        test = metrics_of(
            YOLO(str(best), task="detect").val(data=str(run.data_yaml), split="test", name="test", **common), run.labels
        )
    onnx = export_onnx(best, run.image_size)
    _threads(run.num_threads)
    best_epoch = int(trainer.stopper.best_epoch)
    stopped = progress.stopped
    if stopped is None and progress.epochs_run - best_epoch >= run.patience:
        stopped = "early_stopping"
    elif stopped is None and run.epochs_until:
        stopped = "time_budget"
    elif stopped is None and progress.epochs_run < trainer.epochs:
        stopped = "early_stopping"
    return YoloResult(
        weights=best,
        onnx=onnx,
        validation=validation,
        test=test,
        pretrained=pretrained,
        epochs_run=progress.epochs_run,
        best_epoch=best_epoch,
        stopped=stopped,
        epoch_seconds=progress.epoch_seconds(),
    )


def metrics_of(results: Any, labels: Sequence[str]) -> dict[str, Any]:
    """Overall and per-label AP, precision and recall from ultralytics' `DetMetrics`.

    Labels without an object in the evaluated images have no entry in `per_label`.
    """
    box = results.box
    per_label = {
        labels[c]: {
            "ap50": float(box.ap50[i]),
            "ap50_95": float(box.ap[i]),
            "precision": float(box.p[i]),
            "recall": float(box.r[i]),
            "objects": int(results.nt_per_class[c]),
        }
        for i, c in enumerate(box.ap_class_index)
    }
    return {
        "map50": float(box.map50),
        "map50_95": float(box.map),
        "precision": float(box.mp),
        "recall": float(box.mr),
        "per_label": per_label,
    }


def export_onnx(weights: Path, image_size: int) -> Path:
    """Export with a dynamic batch (and size), check it against the torch model, return the .onnx path.

    ultralytics writes `<weights>.onnx` next to the checkpoint. simplify=False: onnxslim would be
    one more dependency, and onnxruntime's own graph optimisations do the same folding at load.
    """
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter announces its own deprecation
        path = Path(
            model.export(
                format="onnx",
                imgsz=image_size,
                dynamic=True,
                opset=ONNX_OPSET,
                simplify=False,
                device="cpu",
                verbose=False,
            )
        )
    inputs = np.random.default_rng(0).random((2, 3, image_size, image_size), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (exported,) = session.run(None, {session.get_inputs()[0].name: inputs})
    network = model.model.float().eval()
    with torch.inference_mode():
        expected = network(torch.from_numpy(inputs))[0].numpy()
    difference = float(np.abs(exported - expected).max())
    if difference > ONNX_TOLERANCE * max(1.0, float(np.abs(expected).max())):
        raise RuntimeError(f"The ONNX export differs from the torch model by {difference:.2e}")
    return path


class _Progress:
    """ultralytics callbacks: report each trained epoch once, and stop when the time budget is spent."""

    def __init__(self, run: YoloRun, on_epoch: EpochCallback | None) -> None:
        self.run, self.on_epoch = run, on_epoch
        self.trained, self.epochs_run = False, 0
        self.stopped: str | None = None
        self.started: float | None = None
        self.ended: float | None = None

    def epoch_seconds(self) -> float | None:
        if self.started is None or self.ended is None or not self.epochs_run:
            return None
        return (self.ended - self.started) / self.epochs_run

    def on_train_start(self, trainer: Any) -> None:
        _threads(self.run.num_threads)  # ultralytics' device selection resets torch's thread count
        self.started = time.monotonic()
        if self.run.epochs_until:  # building the model and the data loaders took some of the budget
            trainer.args.time = _hours_left(self.run.epochs_until)

    def on_train_epoch_end(self, trainer: Any) -> None:
        self.trained = True

    def on_fit_epoch_end(self, trainer: Any) -> None:
        if not self.trained:  # the final evaluation of best.pt fires this event again, without training
            return
        self.trained, self.epochs_run, self.ended = False, trainer.epoch + 1, time.monotonic()
        losses = trainer.tloss.values() if isinstance(trainer.tloss, dict) else [trainer.tloss]
        loss = float(sum(float(torch.as_tensor(v).sum()) for v in losses if v is not None))
        if self.on_epoch:
            self.on_epoch(self.epochs_run, trainer.epochs, loss, float(trainer.metrics.get(MAP50, 0.0)))
        if self.run.deadline is not None and time.monotonic() > self.run.deadline and not trainer.stop:
            trainer.stop, self.stopped = True, "time_budget"


def _ultralytics_device(device: str) -> str:
    """ultralytics names GPUs by index ("0"), not "cuda:0"."""
    return device.split(":", 1)[1] if device.startswith("cuda:") else "0" if device == "cuda" else device


def _hours_left(until: float) -> float:
    """ultralytics' `time` (hours) until a monotonic instant; a few seconds at least, so that time mode stays on."""
    return max(until - time.monotonic(), 5.0) / 3600


def _threads(num_threads: int | None) -> None:
    if num_threads:
        torch.set_num_threads(num_threads)
