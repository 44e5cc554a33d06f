"""Evaluation metrics per task type, computed with numpy alone and rounded for the manifest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 0.5


def classification_metrics(
    probs: np.ndarray, truth: np.ndarray, labels: Sequence[str], image_ids: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, per-label precision/recall/F1, the confusion matrix and the misclassified images.

    Args:
        probs: Softmax probabilities, (N, len(labels)).
        truth: True class indices, (N,).
        labels: Label ids in output order.
        image_ids: Ids echoed in `failed_images`, most confident mistakes first.
    """
    predicted = probs.argmax(axis=1)
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    per_label = {
        label: _prf(matrix[i, i], matrix[:, i].sum() - matrix[i, i], matrix[i].sum() - matrix[i, i])
        | {"support": int(matrix[i].sum())}
        for i, label in enumerate(labels)
    }
    wrong = np.flatnonzero(predicted != truth)
    failed = [
        {
            "image_id": image_ids[k],
            "true_label": labels[truth[k]],
            "predicted_label": labels[predicted[k]],
            "prob": _round(probs[k, predicted[k]]),
        }
        for k in wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")]
    ]
    return {
        "accuracy": _round((predicted == truth).mean()) if len(truth) else 0.0,
        "per_label": per_label,
        "confusion_matrix": {"labels": list(labels), "matrix": matrix.tolist()},
        "failed_images": failed,
    }


def choose_thresholds(probs: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per tag, the decision threshold with the best F1 on these images.

    Candidates lie halfway between neighbouring probabilities, so that a small shift on new
    images does not flip a decision; ties go to the candidate nearest 0.5. A tag with no
    positive image keeps 0.5, since there is nothing to tune on.
    """
    thresholds = np.full(truth.shape[1], DEFAULT_THRESHOLD)
    for j in range(truth.shape[1]):
        positives = truth[:, j].astype(bool)
        if not positives.any():
            continue
        values = np.unique(probs[:, j])
        candidates = np.concatenate([(values[1:] + values[:-1]) / 2, [values[0] / 2, (values[-1] + 1) / 2]])
        f1 = np.array([_f1(probs[:, j] >= c, positives) for c in candidates])
        best = np.flatnonzero(f1 == f1.max())
        thresholds[j] = candidates[best[np.argmin(np.abs(candidates[best] - DEFAULT_THRESHOLD))]]
    return np.clip(thresholds, 0.01, 0.99)


def tagging_metrics(
    probs: np.ndarray, truth: np.ndarray, thresholds: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """Per-tag precision/recall/F1 at `thresholds`, micro and macro F1, and the all-positive baseline.

    Macro F1 averages the tags present in these images; `baseline_micro_f1` is what tagging
    every image with every tag would score.
    """
    predicted, actual = probs >= thresholds, truth.astype(bool)
    per_label = {
        label: _prf(*_counts(predicted[:, j], actual[:, j]))
        | {"support": int(actual[:, j].sum()), "threshold": _round(thresholds[j])}
        for j, label in enumerate(labels)
    }
    present = [per_label[label]["f1"] for j, label in enumerate(labels) if actual[:, j].any()]
    return {
        "micro_f1": _prf(*_counts(predicted.ravel(), actual.ravel()))["f1"],
        "macro_f1": _round(np.mean(present)) if present else 0.0,
        "per_label": per_label,
        "baseline_micro_f1": _prf(*_counts(np.ones(actual.size, dtype=bool), actual.ravel()))["f1"],
    }


def regression_metrics(predicted: np.ndarray, truth: np.ndarray, train_mean: float) -> dict[str, Any]:
    """MAE, RMSE and R² in the target's units, and the MAE of always predicting the training mean."""
    if not len(truth):
        return {"mae": 0.0, "rmse": 0.0, "r2": 0.0, "baseline_mae": 0.0}
    errors = predicted - truth
    spread = float(((truth - truth.mean()) ** 2).sum())
    return {
        "mae": _round(np.abs(errors).mean()),
        "rmse": _round(np.sqrt((errors**2).mean())),
        "r2": _round(1 - float((errors**2).sum()) / spread) if spread else 0.0,
        "baseline_mae": _round(np.abs(truth - train_mean).mean()),
    }


def value_pairs(predicted: np.ndarray, truth: np.ndarray, image_ids: Sequence[str], limit: int = 500) -> list:
    """``[true, predicted, image id]`` of up to `limit` images, for a predicted-against-true plot."""
    return [
        [_round(t), _round(p), image_id]
        for t, p, image_id in list(zip(truth, predicted, image_ids, strict=True))[:limit]
    ]


def _counts(predicted: np.ndarray, actual: np.ndarray) -> tuple[int, int, int]:
    return int((predicted & actual).sum()), int((predicted & ~actual).sum()), int((~predicted & actual).sum())


def _f1(predicted: np.ndarray, actual: np.ndarray) -> float:
    tp, fp, fn = _counts(predicted, actual)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": _round(precision), "recall": _round(recall), "f1": _round(f1)}


def _round(value: float | np.floating) -> float:
    return round(float(value), 4)
