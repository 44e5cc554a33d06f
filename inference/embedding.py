"""Serve a similarity artifact: images in, L2-normalised embeddings out, through onnxruntime."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference.classification import FORMAT_VERSION, IncompatibleArtifact
from inference.descriptors import DIMENSION as GENERIC_DIMENSION
from inference.descriptors import shared_descriptor
from inference.onnx import open_session
from inference.preprocess import to_batch

TASK_TYPE = "similarity"


class Embedder:
    """One loaded embedding model; build it once per artifact and share it (onnxruntime runs are thread-safe)."""

    def __init__(self, artifact_dir: str | Path, *, num_threads: int | None = None) -> None:
        """Read the manifest and open the ONNX model.

        Args:
            artifact_dir: A directory written by `training.similarity.train_embedder`.
            num_threads: onnxruntime intra-op threads; None lets onnxruntime use every core.

        Raises:
            IncompatibleArtifact: No readable manifest or model, another format version or task
                type, or a model whose output width is not the manifest's dimension.
        """
        directory = Path(artifact_dir)
        self.manifest: dict[str, Any] = _read_manifest(directory)
        try:
            self.session = open_session(directory / "model.onnx", num_threads)
        except Exception as error:  # onnxruntime raises its own exception types for missing or broken files
            raise IncompatibleArtifact(f"Cannot load {directory / 'model.onnx'}: {error}") from error
        width = self.session.get_outputs()[0].shape[-1]
        if width != self.dimension:
            raise IncompatibleArtifact(f"The model outputs {width} values, the manifest says {self.dimension}")
        preprocessing = self.manifest["preprocessing"]
        self.image_size = int(preprocessing["image_size"])
        self.mean, self.std = preprocessing["mean"], preprocessing["std"]

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    def describe(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Embed `images` in one batched run: float32 (N, dimension), each row of unit length."""
        if not images:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batch = to_batch(images, self.image_size, self.mean, self.std)
        (outputs,) = self.session.run(["output"], {"input": batch})
        outputs = outputs.astype(np.float32)
        # the graph normalises already; this only removes float drift
        return outputs / np.maximum(np.linalg.norm(outputs, axis=1, keepdims=True), 1e-12)


def generic_embeddings(images: Sequence[Image.Image], *, num_threads: int | None = None) -> np.ndarray:
    """The untrained descriptor (`inference.descriptors`, ImageNet EfficientNet-Lite0) as float32 (N, 1280)."""
    if not images:
        return np.zeros((0, GENERIC_DIMENSION), dtype=np.float32)
    return np.asarray(shared_descriptor(num_threads=num_threads).describe(images), dtype=np.float32)


def _read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise IncompatibleArtifact(f"No readable manifest.json in {directory}") from error
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise IncompatibleArtifact(f"Artifact format {version!r} is not supported (expected {FORMAT_VERSION})")
    if manifest.get("task_type") != TASK_TYPE:
        raise IncompatibleArtifact(f"Task type {manifest.get('task_type')!r} is not an embedding model")
    dimension, preprocessing = manifest.get("dimension"), manifest.get("preprocessing")
    if not isinstance(dimension, int) or dimension < 1 or not isinstance(preprocessing, dict):
        raise IncompatibleArtifact("The manifest lacks a positive dimension or preprocessing")
    return manifest
