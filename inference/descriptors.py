"""A generic visual descriptor: ImageNet EfficientNet-Lite0 features, L2-normalised.

Detection's ``descriptor: 1`` returns it per record, for similarity search over any images.
It needs no training, so it is the same vector space for every task and version.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, to_batch
from inference.pretrained import efficientnet_lite0

IMAGE_SIZE = 224
DIMENSION = 1280


class GenericDescriptor:
    """Pooled EfficientNet-Lite0 features; safe to share between threads (inference only)."""

    def __init__(self, *, num_threads: int | None = None) -> None:
        self.model, self.pretrained = efficientnet_lite0(num_classes=0)
        self.model.eval()
        self.num_threads = num_threads

    def describe(self, images: Sequence[Image.Image]) -> list[list[float]]:
        """One L2-normalised 1280-d vector per image, in order."""
        if not images:
            return []
        batch = torch.from_numpy(to_batch(images, IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD))
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        with torch.inference_mode():
            features = self.model(batch).numpy().astype(np.float64)
        features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        return [[round(float(value), 6) for value in row] for row in features]


_shared: GenericDescriptor | None = None
_lock = threading.Lock()


def shared_descriptor(*, num_threads: int | None = None) -> GenericDescriptor:
    """The process's one descriptor model, built on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = GenericDescriptor(num_threads=num_threads)
    return _shared


def generic_embeddings(images: Sequence[Image.Image], *, num_threads: int | None = None) -> np.ndarray:
    """The untrained descriptor of each image as float32 (N, 1280)."""
    if not images:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.asarray(shared_descriptor(num_threads=num_threads).describe(images), dtype=np.float32)
