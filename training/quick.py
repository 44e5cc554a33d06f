"""A first model in seconds: a linear head on frozen features of the pretrained backbone.

The fine-tune takes minutes on a CPU; this model needs one forward pass over the images and a
linear fit on what it cached, so users get answers while the fine-tune runs. Measured on
MNIST-5k (4000 training / 1000 validation digits, EfficientNet-Lite0), a linear head reached:

* 0.92 on the backbone's final pooled 1280 features at 64 px (0.93 at 96 px): ImageNet's last
  stages describe objects, not strokes;
* 0.966 on the middle stages (blocks 2-5) pooled to 2x2 and concatenated, at 32 px, where one
  forward pass costs a quarter of one at 64 px.

So the input is halved inside the graph (the artifact takes the task's image size, like the
fine-tuned version, and serving needs nothing new), and the features are standardised over the
training split, in the graph too.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, normalise
from training.spec import Sample
from training.tasks import Task

FEATURE_BLOCKS = (2, 3, 4, 5)
GRID = 2
HEAD_EPOCHS = 30
HEAD_BATCH = 128
HEAD_LEARNING_RATE = 1e-3
EXTRACT_BATCH = 256


class FrozenFeatures(nn.Module):
    """The stem and the first blocks of a timm EfficientNet, each tapped block pooled to a 2x2 grid.

    A map whose side is not a multiple of 2 (large inputs) is pooled to one value per channel,
    since ONNX exports adaptive pooling only to a factor of the input.
    """

    def __init__(self, backbone: nn.Module, image_size: int) -> None:
        super().__init__()
        stem, norm, blocks = backbone.conv_stem, backbone.bn1, backbone.blocks
        assert isinstance(stem, nn.Module) and isinstance(norm, nn.Module) and isinstance(blocks, nn.Sequential)
        self.stem = nn.Sequential(copy.deepcopy(stem), copy.deepcopy(norm))
        self.blocks = copy.deepcopy(blocks[: max(FEATURE_BLOCKS) + 1])
        self.requires_grad_(False)
        self.eval()
        self.grids = {index: 1 for index in FEATURE_BLOCKS}
        with torch.inference_mode():  # the map sizes, fixed by the input size, decided once (not while tracing)
            sides = self._forward(torch.zeros(1, 3, image_size, image_size), lambda x, _: x.shape[-1])
        self.grids = {index: GRID if side % GRID == 0 else 1 for index, side in zip(FEATURE_BLOCKS, sides, strict=True)}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat(self._forward(images, lambda x, grid: F.adaptive_avg_pool2d(x, grid).flatten(1)), 1)

    def _forward(self, images: torch.Tensor, tap: Callable[[torch.Tensor, int], Any]) -> list[Any]:
        x = self.stem(F.avg_pool2d(images, 2))
        tapped = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.grids:
                tapped.append(tap(x, self.grids[index]))
        return tapped


class QuickClassifier(nn.Module):
    """Frozen features, standardised with the training split's mean and spread, then a linear layer."""

    def __init__(self, features: FrozenFeatures, mean: torch.Tensor, std: torch.Tensor, outputs: int) -> None:
        super().__init__()
        self.features = features
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.head = nn.Linear(mean.numel(), outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(images))

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.head((features - self.mean) / self.std)


def supports(model: nn.Module) -> bool:
    """Whether `model` has the EfficientNet layout `FrozenFeatures` taps."""
    blocks = getattr(model, "blocks", None)
    return hasattr(model, "conv_stem") and isinstance(blocks, nn.Sequential) and len(blocks) > max(FEATURE_BLOCKS)


@dataclass(frozen=True)
class Quick:
    """The fitted model and its raw outputs on the watched and test images, for the metrics."""

    model: QuickClassifier
    watch_outputs: np.ndarray
    test_outputs: np.ndarray
    loss: float


def fit_quick(
    backbone: nn.Module,
    task: Task,
    train: tuple[np.ndarray, Sequence[Sample]],
    watch: np.ndarray,
    test: np.ndarray,
    *,
    device: str,
    seed: int,
) -> Quick:
    """Extract the features of every image once, then fit the linear head on them with the task's loss.

    Args:
        backbone: A pretrained model `supports` accepts; it is copied, never changed.
        task: Fitted on the training split (targets, weighted loss).
        train: Squashed uint8 pixels (N, S, S, 3) of the training split and its samples.
        watch: Pixels of the split that metrics are measured on.
        test: Pixels of the user's test images (may be empty).
    """
    features = FrozenFeatures(backbone, train[0].shape[1]).to(device).to(memory_format=torch.channels_last).eval()
    train_features = extract(features, train[0], device)
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    model = QuickClassifier(features, mean, std, len(task.outputs)).to(device)
    targets = task.targets(train[1]).to(device)
    criterion = task.loss(device)
    optimizer = torch.optim.AdamW(model.head.parameters(), lr=HEAD_LEARNING_RATE)
    generator = torch.Generator().manual_seed(seed)
    loss = math.nan
    for _ in range(HEAD_EPOCHS):
        for batch in torch.randperm(len(train_features), generator=generator).split(HEAD_BATCH):
            step = criterion(model.classify(train_features[batch]), targets[batch])
            optimizer.zero_grad(set_to_none=True)
            step.backward()
            optimizer.step()
            loss = step.item()
    model.eval()
    with torch.inference_mode():
        watch_outputs, test_outputs = (
            model.classify(extract(features, pixels, device)).cpu().numpy() for pixels in (watch, test)
        )
    return Quick(model.cpu(), watch_outputs, test_outputs, loss)


def extract(features: FrozenFeatures, pixels: np.ndarray, device: str) -> torch.Tensor:
    """The features of `pixels`, normalised as serving does, in batches (channels_last: about 2x on CPU)."""
    chunks = []
    with torch.inference_mode():
        for start in range(0, max(len(pixels), 1), EXTRACT_BATCH):  # an empty set still gives (0, D)
            batch = torch.from_numpy(normalise(pixels[start : start + EXTRACT_BATCH], IMAGENET_MEAN, IMAGENET_STD))
            chunks.append(features(batch.to(device).contiguous(memory_format=torch.channels_last)))
    return torch.cat(chunks).clone()  # a plain tensor again: inference tensors cannot be trained on
