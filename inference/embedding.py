"""Serve a similarity artifact: images in, L2-normalised embeddings out, through onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference.manifest import IncompatibleArtifact, ServedArtifact, read_manifest
from inference.onnx import open_session
from inference.preprocess import to_batch

TASK_TYPE = "similarity"


class Embedder(ServedArtifact):
    """One loaded embedding model; build it once per artifact and share it (onnxruntime runs are thread-safe)."""

    def __init__(
        self, artifact_dir: str | Path, *, num_threads: int | None = None, providers: Sequence[str] | None = None
    ) -> None:
        """Read the manifest and open the ONNX model.

        Args:
            artifact_dir: A directory written by `training.similarity.train_embedder`.
            num_threads: onnxruntime intra-op threads; None lets onnxruntime use every core.
            providers: onnxruntime execution providers in order of preference; None: CPU only.

        Raises:
            IncompatibleArtifact: No readable manifest or model, another format version or task
                type, or a model whose output width is not the manifest's dimension.
        """
        directory = Path(artifact_dir)
        self.manifest: dict[str, Any] = _read_manifest(directory)
        self.session = open_session(directory / "model.onnx", num_threads, providers)
        width = self.session.get_outputs()[0].shape[-1]
        if width != self.dimension:
            raise IncompatibleArtifact(f"The model outputs {width} values, the manifest says {self.dimension}")

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    def predict(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Embed `images` in one batched run: float32 (N, dimension), each row of unit length."""
        if not images:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batch = to_batch(images, self.image_size, self.mean, self.std)
        (outputs,) = self.session.run(["output"], {"input": batch})
        outputs = outputs.astype(np.float32)
        # the graph normalises already; this only removes float drift
        return outputs / np.maximum(np.linalg.norm(outputs, axis=1, keepdims=True), 1e-12)


def _read_manifest(directory: Path) -> dict[str, Any]:
    manifest = read_manifest(directory, {TASK_TYPE}, "an embedding model")
    dimension = manifest.get("dimension")
    if not isinstance(dimension, int) or dimension < 1:
        raise IncompatibleArtifact("The manifest lacks a positive dimension")
    return manifest
