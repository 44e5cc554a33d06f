"""Train an image embedding for similarity search (metric learning) and publish its artifact.

Images of one group show the same item; the model learns to put them close together. As in
`training.classification`, what the spec leaves open is chosen from the data:

* image size: `training.data.choose_image_size` over the shorter sides of the embedded
  crops (object boxes, else whole images);
* epochs: round(10000 / training images), between 5 and 30; the epoch with the best
  validation precision@1 (ties: MAP@R) is kept, and `max_seconds` stops training early;
* learning rate: AdamW at a 1e-3 peak with a one-cycle schedule (15 % warm-up); a pretrained
  backbone gets a tenth of it, so a few small groups do not wash out its ImageNet features
  (a common fine-tuning practice, not yet measured on this project's data).

The backbone's head becomes a `dimension`-wide embedding layer, re-initialised at random
(a random projection keeps the pretrained geometry to start with) and L2-normalised inside
the model, so the ONNX graph outputs unit vectors. The loss is pytorch-metric-learning's
MultiSimilarityLoss on the pairs of MultiSimilarityMiner, with batches of m = min(4, smallest
group) images per group (MPerClassSampler); see ../shared/docs/ML_STACK.md §5. Training
augments with a random resized crop (scale 0.7-1) and no flips: logos, text and many
products are not mirror-symmetric, so a flip makes a different item.

The split holds out whole groups (`training.split.split_groups`), so validation metrics
measure retrieval of items never seen in training; they are compared with the untrained
model (its pooled backbone features, L2-normalised) under `metrics["baseline"]`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pytorch_metric_learning import losses, miners, samplers
from pytorch_metric_learning.utils import common_functions as pml_common
from torch import nn
from torch.nn import functional as F
from torchvision.transforms import v2

from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, normalise
from training.artifact import FORMAT_VERSION, squash_preprocessing, write_artifact
from training.backbones import create_backbone
from training.data import SIZE_SAMPLE, begin, choose_image_size, resolve_device
from training.loop import Fitted, Images, augmented, copy_state, predict, report, step
from training.retrieval import retrieval_metrics
from training.similarity_data import crop_of, embedding_data_hash, load_crops
from training.spec import EmbeddingSample, EmbeddingSpec, Progress, TrainingError, TrainingResult
from training.split import split_groups

MIN_EPOCHS, MAX_EPOCHS, IMAGES_SEEN = 5, 30, 10_000
LEARNING_RATE = 1e-3
PRETRAINED_LR_FACTOR = 0.1
WARMUP_FRACTION = 0.15
M_PER_GROUP = 4
MINER_EPSILON = 0.1
ONNX_CHECK_IMAGES = 8


class EmbeddingModel(nn.Module):
    """A backbone whose head outputs the embedding, L2-normalised (also in the exported graph)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.backbone(inputs), dim=1)


def train_embedder(
    spec: EmbeddingSpec,
    samples: Sequence[EmbeddingSample],
    out_dir: str | Path,
    on_progress: Callable[[Progress], None] | None = None,
) -> TrainingResult:
    """Train on `samples` and publish the artifact at `out_dir` (model.onnx, model.pt, manifest.json).

    Metrics are measured on the held-out groups, or on train when too few groups have 2+
    images to hold some out (`metrics["evaluated_on"]`), and on the user's test groups under
    `metrics["test"]`; each set also holds the untrained model's metrics under "baseline".
    Unreadable files and empty boxes are left out (`metrics["unreadable_images"]`).

    Raises:
        TrainingError: Fewer than 2 trainable groups (groups of 2+ readable, non-test images).
        FileExistsError: `out_dir` exists.
    """
    started = time.monotonic()
    spec, device, out_dir = begin(spec, out_dir)
    fingerprint = embedding_data_hash(spec, samples)
    torch.manual_seed(spec.seed)
    backbone, pretrained = create_backbone(spec.arch, spec.dimension, weights_dir=spec.weights_dir)
    head = _reset_head(backbone)
    baseline_model = _features_only(copy.deepcopy(backbone))
    model = EmbeddingModel(backbone)
    data = _load(spec, samples, pretrained=pretrained)
    spec = replace(
        spec,
        image_size=data.image_size,
        epochs=spec.epochs or int(np.clip(round(IMAGES_SEEN / len(data.train.samples)), MIN_EPOCHS, MAX_EPOCHS)),
        learning_rate=spec.learning_rate or LEARNING_RATE,
    )
    deadline = started + spec.max_seconds if spec.max_seconds else None
    fitted = _fit(model.to(device), head, spec, data, pretrained=pretrained, deadline=deadline, on_progress=on_progress)
    model.load_state_dict(fitted.state)
    metrics = _evaluate(model, baseline_model.to(device), data, device) | fitted.summary
    sizes = {f"{name}_size": len(getattr(data, name).samples) for name in ("train", "validation", "test")}
    manifest = {
        "format_version": FORMAT_VERSION,
        "task_type": "similarity",
        "arch": spec.arch,
        "dimension": spec.dimension,
        "preprocessing": squash_preprocessing(data.image_size),
        "pretrained": pretrained,
        "metrics": metrics,
        "data_hash": fingerprint,
        "spec": asdict(spec),
        **sizes,
    }
    check = normalise(data.watch.pixels[:ONNX_CHECK_IMAGES], IMAGENET_MEAN, IMAGENET_STD)
    write_artifact(model, manifest, out_dir, check)
    return TrainingResult(
        artifact_dir=str(out_dir), metrics=metrics, data_hash=fingerprint, seconds=time.monotonic() - started, **sizes
    )


@dataclass(frozen=True)
class _Data:
    image_size: int
    train: Images[EmbeddingSample]
    validation: Images[EmbeddingSample]
    test: Images[EmbeddingSample]
    watch: Images[EmbeddingSample]  # what epochs are judged on: validation, or train plus the distractors
    evaluated_on: str
    unreadable: list[str]


def _load(spec: EmbeddingSpec, samples: Sequence[EmbeddingSample], *, pretrained: bool) -> _Data:
    workers = torch.get_num_threads()
    image_size = spec.image_size
    if image_size is None:
        chosen = sorted(
            (s for s in samples if not s.test), key=lambda s: hashlib.sha256(s.image_id.encode()).hexdigest()
        )[:SIZE_SAMPLE]
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            sides = [min(crop.size) for crop in pool.map(crop_of, chosen) if crop is not None]
        image_size = choose_image_size(sides, resolve_device(spec.device), pretrained=pretrained)
    pixels, readable, unreadable = load_crops(samples, image_size, workers=workers)
    split = split_groups(readable, seed=spec.seed)
    if len({s.group for s in split.train}) < 2:
        raise TrainingError("Similarity training needs at least 2 groups with 2 or more readable training images.")
    position = {sample.image_id: i for i, sample in enumerate(readable)}

    def subset(members: list[EmbeddingSample]) -> Images[EmbeddingSample]:
        return Images(pixels[[position[s.image_id] for s in members]], members)

    train, validation = subset(split.train), subset(split.validation)
    if len({s.group for s in split.validation}) < len(split.validation):  # some group can be queried
        watch, evaluated_on = validation, "validation"
    else:
        watch, evaluated_on = subset(split.train + split.validation), "train"
    return _Data(image_size, train, validation, subset(split.test), watch, evaluated_on, unreadable)


def _fit(
    model: EmbeddingModel,
    head: nn.Module,
    spec: EmbeddingSpec,
    data: _Data,
    *,
    pretrained: bool,
    deadline: float | None,
    on_progress: Callable[[Progress], None] | None,
) -> Fitted:
    """Train in place; keep the state of the epoch with the best precision@1 (then MAP@R) on `data.watch`."""
    assert spec.device is not None and spec.epochs is not None and spec.learning_rate is not None
    device, epochs = spec.device, spec.epochs
    names = sorted({s.group for s in data.train.samples})
    labels = torch.tensor([names.index(s.group) for s in data.train.samples])
    m = min(M_PER_GROUP, int(torch.bincount(labels).min()))
    batch_size = max(2 * m, min(spec.batch_size, m * len(names)) // m * m)
    sampler = samplers.MPerClassSampler(
        labels, m, batch_size=batch_size, length_before_new_iter=max(len(labels), batch_size)
    )
    steps = len(sampler) // batch_size
    loss_fn, miner = losses.MultiSimilarityLoss(), miners.MultiSimilarityMiner(epsilon=MINER_EPSILON)
    head_params = {id(p) for p in head.parameters()}
    body = [p for p in model.parameters() if id(p) not in head_params]
    rates = [spec.learning_rate * (PRETRAINED_LR_FACTOR if pretrained else 1.0), spec.learning_rate]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": rates[0]}, {"params": list(head.parameters()), "lr": rates[1]}], fused=True
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=rates, total_steps=epochs * steps, pct_start=WARMUP_FRACTION
    )
    augment = v2.RandomResizedCrop(data.image_size, scale=(0.7, 1.0), antialias=True)
    watch_groups = [s.group for s in data.watch.samples]
    best_key, best_epoch, state = (-math.inf, -math.inf), 0, copy_state(model)
    with _seeded_sampler(spec.seed):
        for epoch in range(1, epochs + 1):
            model.train()
            if pretrained:
                _freeze_batch_norm(model)
            order, epoch_losses = np.array(list(iter(sampler))), []
            for start in range(0, steps * batch_size, batch_size):
                batch = order[start : start + batch_size]
                embeddings = model(augmented(data.train.pixels[batch], augment).to(device))
                batch_labels = labels[batch].to(device)
                loss = loss_fn(embeddings, batch_labels, miner(embeddings, batch_labels))
                epoch_losses.append(step(loss, optimizer, schedule))
                if deadline is not None and time.monotonic() > deadline:
                    break
            scores = retrieval_metrics(predict(model, data.watch.pixels, device), watch_groups)
            report(on_progress, epoch, epochs, epoch_losses, "precision_at_1", float(scores["precision_at_1"]))
            if (scores["precision_at_1"], scores["map_at_r"]) > best_key:
                best_key, best_epoch, state = (scores["precision_at_1"], scores["map_at_r"]), epoch, copy_state(model)
            if deadline is not None and time.monotonic() > deadline:
                return Fitted(state, best_epoch, epoch, "time_budget")
    return Fitted(state, best_epoch, epochs, "completed")


def _evaluate(model: nn.Module, baseline: nn.Module, data: _Data, device: str) -> dict[str, Any]:
    """Retrieval metrics of the trained and the untrained model on the watched set, and on test apart."""

    def scores(images: Images[EmbeddingSample]) -> dict[str, Any]:
        groups = [s.group for s in images.samples]
        untrained = predict(baseline, images.pixels, device)
        untrained /= np.maximum(np.linalg.norm(untrained, axis=1, keepdims=True), 1e-12)
        return retrieval_metrics(predict(model, images.pixels, device), groups) | {
            "baseline": retrieval_metrics(untrained, groups),
            "groups": len(set(groups)),
        }

    metrics = scores(data.watch) | {
        "validation_size": len(data.validation.samples),
        "evaluated_on": data.evaluated_on,
        "distractors": sum(count == 1 for count in Counter(s.group for s in data.validation.samples).values()),
        "unreadable_images": data.unreadable,
    }
    if data.test.samples:
        metrics["test"] = scores(data.test) | {"test_size": len(data.test.samples)}
    return metrics


def _reset_head(backbone: nn.Module) -> nn.Linear:
    """The backbone's last linear layer, re-initialised as a random projection (zero-init heads embed nothing)."""
    head = [module for module in backbone.modules() if isinstance(module, nn.Linear)][-1]
    nn.init.normal_(head.weight, std=head.in_features**-0.5)
    nn.init.zeros_(head.bias)
    return head


def _freeze_batch_norm(model: nn.Module) -> None:
    """Keep BatchNorm layers on their pretrained statistics while the rest trains.

    Batches of a few similar items have statistics far from ImageNet's, so train-mode
    features differ from eval-mode ones: EfficientNet-Lite0 on synthetic items (mean cosine
    0.72 in eval mode, 0.15 in train mode) collapsed to a P@1 near chance in 6 epochs.
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def _features_only(backbone: nn.Module) -> nn.Module:
    """`backbone` with its last linear layer replaced by the identity: the untrained pooled features."""
    name = [name for name, module in backbone.named_modules() if isinstance(module, nn.Linear)][-1]
    parent_name, _, attribute = name.rpartition(".")
    setattr(backbone.get_submodule(parent_name), attribute, nn.Identity())
    return backbone.eval()


@contextlib.contextmanager
def _seeded_sampler(seed: int) -> Iterator[None]:
    """MPerClassSampler draws from pytorch-metric-learning's module-level numpy RNG; seed it for this run."""
    previous = pml_common.NUMPY_RANDOM
    pml_common.NUMPY_RANDOM = np.random.RandomState(seed)
    try:
        yield
    finally:
        pml_common.NUMPY_RANDOM = previous
