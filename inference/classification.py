"""Serve a classification artifact (categorization, tagging or regression) through onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference.manifest import IncompatibleArtifact, ServedArtifact, read_manifest
from inference.onnx import open_session
from inference.preprocess import to_batch

TASK_TYPES = ("multi_class", "multi_label", "regression")
DEFAULT_THRESHOLD = 0.5


class ClassificationPredictor(ServedArtifact):
    """One loaded artifact; build it once per artifact (see `inference.cache.ModelCache`) and share it.

    onnxruntime sessions are safe to run from several threads at once, so `predict` may be too.
    """

    def __init__(
        self, artifact_dir: str | Path, *, num_threads: int | None = None, providers: Sequence[str] | None = None
    ) -> None:
        """Read the manifest and open the ONNX model.

        Args:
            artifact_dir: A directory written by `training.classification.train`.
            num_threads: onnxruntime intra-op threads; None lets onnxruntime use every core.
            providers: onnxruntime execution providers in order of preference; None: CPU only.

        Raises:
            IncompatibleArtifact: No readable manifest or model, another format version, or an
                unknown task type.
        """
        directory = Path(artifact_dir)
        self.manifest: dict[str, Any] = _read_manifest(directory)
        self.session = open_session(directory / "model.onnx", num_threads, providers)

    @property
    def task_type(self) -> str:
        return str(self.manifest["task_type"])

    def predict(self, images: Sequence[Image.Image]) -> list[list[dict[str, Any]]]:
        """Run one batched forward pass over `images`.

        Returns:
            Per image, `{"label", "prob"}` for every label, most probable first: softmax for
            multi_class, independent sigmoids for multi_label (with `"passed"`: the prob reaches
            the tag's threshold). Regression: `[{"label", "value"}]` in the target's units.
        """
        if not images:
            return []
        batch = to_batch(images, self.image_size, self.mean, self.std)
        (outputs,) = self.session.run(["output"], {"input": batch})
        outputs = outputs.astype(np.float64)
        if self.task_type == "regression":
            target = self.manifest["target"]
            values = outputs * target["std"] + target["mean"]
            return [
                [{"label": label, "value": float(value)} for label, value in zip(self.labels, row, strict=True)]
                for row in values
            ]
        if self.task_type == "multi_class":
            exp = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            return [self._ranked(row) for row in exp / exp.sum(axis=1, keepdims=True)]
        thresholds = self.manifest.get("thresholds", {})
        probs = np.exp(-np.logaddexp(0.0, -outputs))  # sigmoid without overflow
        return [
            [
                entry | {"passed": entry["prob"] >= thresholds.get(entry["label"], DEFAULT_THRESHOLD)}
                for entry in self._ranked(row)
            ]
            for row in probs
        ]

    def _ranked(self, probs: np.ndarray) -> list[dict[str, Any]]:
        labels = self.manifest["labels"]
        return [{"label": labels[j], "prob": float(probs[j])} for j in np.argsort(-probs, kind="stable")]


def _read_manifest(directory: Path) -> dict[str, Any]:
    manifest = read_manifest(directory, TASK_TYPES, "a classification model")
    if not isinstance(manifest.get("labels"), list):
        raise IncompatibleArtifact("The manifest lacks labels")
    if manifest["task_type"] == "regression" and not isinstance(manifest.get("target"), dict):
        raise IncompatibleArtifact("A regression manifest needs the target's mean and std")
    return manifest
