"""What differs between task types: targets, loss, the metric early stopping follows, and evaluation.

Each class turns samples into targets and raw model outputs (numpy, one row per image) into
numbers; the training loop itself is the same for all three.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from training import metrics
from training.spec import Sample, TrainingError, TrainingSpec

LABEL_SMOOTHING = 0.1
MAX_POS_WEIGHT = 10.0


class Task(ABC):
    """The interface; `fit` must run on the training split before targets, loss or metrics."""

    outputs: list[str]

    @abstractmethod
    def usable(self, sample: Sample) -> bool:
        """Whether the sample carries a target for this task (others are left out)."""

    def fit(self, train: Sequence[Sample]) -> None:  # noqa: B027 - an optional hook
        """Learn what the loss needs from the training split; raise TrainingError when it cannot train."""

    @abstractmethod
    def targets(self, samples: Sequence[Sample]) -> torch.Tensor:
        """What the loss compares the network's outputs with."""

    @abstractmethod
    def loss(self, device: str) -> nn.Module:
        """The training criterion, weighted against imbalance where the task has classes."""

    @abstractmethod
    def score(self, outputs: np.ndarray, samples: Sequence[Sample]) -> tuple[str, float, float]:
        """(metric name, its value, a number that grows as the model improves) for early stopping."""

    def calibrate(self, outputs: np.ndarray, samples: Sequence[Sample]) -> None:  # noqa: B027 - optional
        """Tune decision settings on held-out outputs (multi_label thresholds)."""

    def manifest_fields(self) -> dict[str, Any]:
        """What the predictor needs besides the labels (thresholds, target scaling)."""
        return {}

    @abstractmethod
    def evaluate(self, outputs: np.ndarray, samples: Sequence[Sample]) -> dict[str, Any]:
        """The metrics of `training.metrics` for this task type."""


class MultiClass(Task):
    """One label per image, softmax over the labels, class-weighted cross-entropy."""

    def __init__(self, spec: TrainingSpec) -> None:
        if len(spec.labels) < 2:
            raise TrainingError("A categorization task needs at least 2 labels.")
        self.outputs = list(spec.labels)
        self.index = {label: i for i, label in enumerate(self.outputs)}
        self.weights = np.ones(len(self.outputs))

    def usable(self, sample: Sample) -> bool:
        return sum(label in self.index for label in sample.labels) == 1

    def fit(self, train: Sequence[Sample]) -> None:  # noqa: B027 - an optional hook
        counts = np.bincount(self._classes(train), minlength=len(self.outputs))
        _require_examples(self.outputs, counts)
        # inverse frequency, so that each label weighs the same in the loss whatever its count
        self.weights = counts.sum() / (len(counts) * counts)

    def _classes(self, samples: Sequence[Sample]) -> np.ndarray:
        return np.array([next(self.index[x] for x in s.labels if x in self.index) for s in samples], dtype=np.int64)

    def targets(self, samples: Sequence[Sample]) -> torch.Tensor:
        return torch.from_numpy(self._classes(samples))

    def loss(self, device: str) -> nn.Module:
        weight = torch.tensor(self.weights, dtype=torch.float32, device=device)
        return nn.CrossEntropyLoss(weight=weight, label_smoothing=LABEL_SMOOTHING)

    def score(self, outputs: np.ndarray, samples: Sequence[Sample]) -> tuple[str, float, float]:
        accuracy = float((outputs.argmax(axis=1) == self._classes(samples)).mean())
        return "accuracy", accuracy, accuracy

    def evaluate(self, outputs: np.ndarray, samples: Sequence[Sample]) -> dict[str, Any]:
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        probs = shifted / shifted.sum(axis=1, keepdims=True)
        ids = [s.image_id for s in samples]
        return metrics.classification_metrics(probs, self._classes(samples), self.outputs, ids)


class MultiLabel(Task):
    """Any subset of tags per image, one sigmoid per tag; the negative label is no output."""

    def __init__(self, spec: TrainingSpec) -> None:
        self.known = set(spec.labels)
        self.outputs = [label for label in spec.labels if label != spec.negative_label]
        if not self.outputs:
            raise TrainingError("A tagging task needs at least 1 tag besides the negative label.")
        self.index = {label: i for i, label in enumerate(self.outputs)}
        self.pos_weight = np.ones(len(self.outputs))
        self.thresholds = np.full(len(self.outputs), metrics.DEFAULT_THRESHOLD)

    def usable(self, sample: Sample) -> bool:
        return any(label in self.known for label in sample.labels)

    def fit(self, train: Sequence[Sample]) -> None:  # noqa: B027 - an optional hook
        positives = self.matrix(train).sum(axis=0)
        _require_examples(self.outputs, positives)
        # rare tags would otherwise learn to always say "no"
        self.pos_weight = np.clip((len(train) - positives) / positives, 1.0, MAX_POS_WEIGHT)

    def matrix(self, samples: Sequence[Sample]) -> np.ndarray:
        rows = np.zeros((len(samples), len(self.outputs)), dtype=np.float32)
        for row, sample in enumerate(samples):
            rows[row, [self.index[x] for x in sample.labels if x in self.index]] = 1
        return rows

    def targets(self, samples: Sequence[Sample]) -> torch.Tensor:
        return torch.from_numpy(self.matrix(samples))

    def loss(self, device: str) -> nn.Module:
        return nn.BCEWithLogitsLoss(pos_weight=torch.tensor(self.pos_weight, dtype=torch.float32, device=device))

    def score(self, outputs: np.ndarray, samples: Sequence[Sample]) -> tuple[str, float, float]:
        f1 = metrics.tagging_metrics(_sigmoid(outputs), self.matrix(samples), self.thresholds, self.outputs)
        return "micro_f1", f1["micro_f1"], f1["micro_f1"]

    def calibrate(self, outputs: np.ndarray, samples: Sequence[Sample]) -> None:  # noqa: B027 - optional
        self.thresholds = metrics.choose_thresholds(_sigmoid(outputs), self.matrix(samples))

    def manifest_fields(self) -> dict[str, Any]:
        pairs = zip(self.outputs, self.thresholds, strict=True)
        return {"thresholds": {label: round(float(threshold), 4) for label, threshold in pairs}}

    def evaluate(self, outputs: np.ndarray, samples: Sequence[Sample]) -> dict[str, Any]:
        return metrics.tagging_metrics(_sigmoid(outputs), self.matrix(samples), self.thresholds, self.outputs)


class Regression(Task):
    """One value per image; the network learns standardised targets with a smooth L1 loss."""

    def __init__(self, spec: TrainingSpec) -> None:
        if len(spec.labels) != 1:
            raise ValueError(f"A regression task has exactly one value label, got {len(spec.labels)}")
        self.outputs = list(spec.labels)
        self.mean, self.std = 0.0, 1.0

    def usable(self, sample: Sample) -> bool:
        return sample.value is not None and math.isfinite(sample.value)

    def fit(self, train: Sequence[Sample]) -> None:  # noqa: B027 - an optional hook
        values = self._values(train)
        self.mean = float(values.mean())
        self.std = float(values.std()) or 1.0  # all values equal: nothing to scale

    def _values(self, samples: Sequence[Sample]) -> np.ndarray:
        return np.array([s.value for s in samples], dtype=np.float64)

    def targets(self, samples: Sequence[Sample]) -> torch.Tensor:
        return torch.from_numpy(((self._values(samples) - self.mean) / self.std).astype(np.float32)[:, None])

    def loss(self, device: str) -> nn.Module:
        return nn.SmoothL1Loss()

    def score(self, outputs: np.ndarray, samples: Sequence[Sample]) -> tuple[str, float, float]:
        mae = float(np.abs(outputs[:, 0] * self.std + self.mean - self._values(samples)).mean())
        return "mae", mae, -mae

    def manifest_fields(self) -> dict[str, Any]:
        return {"target": {"mean": self.mean, "std": self.std}}

    def evaluate(self, outputs: np.ndarray, samples: Sequence[Sample]) -> dict[str, Any]:
        predicted, truth = outputs[:, 0] * self.std + self.mean, self._values(samples)
        return metrics.regression_metrics(predicted, truth, self.mean) | {
            "points": metrics.value_pairs(predicted, truth, [s.image_id for s in samples])
        }


TASKS: dict[str, Callable[[TrainingSpec], Task]] = {
    "multi_class": MultiClass,
    "multi_label": MultiLabel,
    "regression": Regression,
}


def make_task(spec: TrainingSpec) -> Task:
    """The adapter for `spec.task_type`.

    Raises:
        ValueError: An unknown task type, or a regression spec without exactly one label.
        TrainingError: Too few labels to train (categorization 2, tagging 1 besides the negative).
    """
    if spec.task_type not in TASKS:
        raise ValueError(f"Unknown task type {spec.task_type!r}; known: {', '.join(TASKS)}")
    return TASKS[spec.task_type](spec)


def _require_examples(labels: Sequence[str], counts: np.ndarray) -> None:
    missing = [label for label, count in zip(labels, counts, strict=True) if count == 0]
    if missing:
        raise TrainingError(f"These labels have no training image: {', '.join(missing)}.")


def _sigmoid(outputs: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -outputs.astype(np.float64)))  # no overflow for large negative logits
