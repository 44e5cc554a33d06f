"""A generic visual descriptor: ImageNet EfficientNet-Lite0 features, L2-normalised.

Detection's ``descriptor: 1`` returns it per record, and collections without a trained embedder
search by it. It needs no training, so it is the same vector space for every task and version.
It is served by onnxruntime from a model exported once per host (`inference.exported`), so the
API process never imports torch for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from inference.exported import ensure_exported
from inference.manifest import IncompatibleArtifact
from inference.onnx import open_session
from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, to_batch

# The cache folder's name: change the suffix whenever the export changes, so hosts export again.
MODEL_NAME = "efficientnet_lite0-features-1"
IMAGE_SIZE = 224
DIMENSION = 1280


class GenericDescriptor:
    """Pooled EfficientNet-Lite0 features; share one per process (onnxruntime runs are thread-safe)."""

    def __init__(
        self, directory: str | Path, *, num_threads: int | None = None, providers: Sequence[str] | None = None
    ) -> None:
        """Raises IncompatibleArtifact: not a folder written by `export_descriptor`."""
        directory = Path(directory)
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
        except (OSError, ValueError) as error:
            raise IncompatibleArtifact(f"No generic descriptor in {directory}: {error}") from error
        if manifest.get("dimension") != DIMENSION or manifest.get("image_size") != IMAGE_SIZE:
            raise IncompatibleArtifact(f"{directory} holds another descriptor than {MODEL_NAME}")
        self.session = open_session(directory / "model.onnx", num_threads, providers)

    def describe(self, images: Sequence[Image.Image]) -> list[list[float]]:
        """One L2-normalised 1280-d vector per image, in order."""
        if not images:
            return []
        (features,) = self.session.run(["output"], {"input": to_batch(images, IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD)})
        features = features.astype(np.float64)
        features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        return [[round(float(value), 6) for value in row] for row in features]


def export_descriptor(directory: Path) -> None:
    """Write model.onnx (checked against torch) and manifest.json of the feature extractor into `directory`."""
    from inference.onnx_export import export_onnx, verify_onnx
    from inference.pretrained import efficientnet_lite0

    model, pretrained = efficientnet_lite0(num_classes=0)
    model.eval()
    export_onnx(model, directory / "model.onnx", IMAGE_SIZE)
    check = np.random.default_rng(0).normal(size=(2, 3, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
    verify_onnx(model, directory / "model.onnx", check)
    manifest = {"model": MODEL_NAME, "image_size": IMAGE_SIZE, "dimension": DIMENSION, "pretrained": pretrained}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))


def ensure_descriptor(cache_dir: str | Path) -> Path:
    """The descriptor's folder under `cache_dir`, exported first if this host has none yet."""
    return ensure_exported(cache_dir, MODEL_NAME, lambda staging: export_descriptor(staging))


_shared: dict[Path, GenericDescriptor] = {}
_lock = threading.Lock()


def shared_descriptor(
    cache_dir: str | Path, *, num_threads: int | None = None, providers: Sequence[str] | None = None
) -> GenericDescriptor:
    """The process's one descriptor, exported into `cache_dir` on this host's first use (about 10 s)."""
    with _lock:
        folder = ensure_descriptor(cache_dir)
        if folder not in _shared:
            _shared[folder] = GenericDescriptor(folder, num_threads=num_threads, providers=providers)
        return _shared[folder]


def generic_embeddings(
    images: Sequence[Image.Image],
    cache_dir: str | Path,
    *,
    num_threads: int | None = None,
    providers: Sequence[str] | None = None,
) -> np.ndarray:
    """The untrained descriptor of each image as float32 (N, 1280)."""
    if not images:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.asarray(
        shared_descriptor(cache_dir, num_threads=num_threads, providers=providers).describe(images), dtype=np.float32
    )
