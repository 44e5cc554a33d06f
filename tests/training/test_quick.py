"""The quick first version: a linear head on frozen pretrained features, published before the fine-tune."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inference.classification import ClassificationPredictor
from tests.training.test_classification import shapes, spec  # noqa: F401 - shapes is a fixture
from training.backbones import create_backbone
from training.classification import train
from training.quick import FrozenFeatures
from training.spec import Progress, Sample, TrainingResult, TrainingSpec
from training.split import split_samples

pytestmark = pytest.mark.usefixtures("restore_torch_threads")


def quick_spec(**overrides: Any) -> TrainingSpec:
    fields = {"task_type": "multi_class", "labels": ("sq", "disc"), "arch": "efficientnet_lite0", "epochs": 1}
    fields |= {"quick_first_version": True} | overrides
    return spec(fields.pop("task_type"), fields.pop("labels"), **fields)


def manifest(directory: str) -> dict:
    return json.loads((Path(directory) / "manifest.json").read_text())


def served_accuracy(directory: str, samples: list[Sample]) -> float:
    predictions = ClassificationPredictor(directory).predict([Image.open(s.path) for s in samples])
    return float(np.mean([p[0]["label"] == s.labels[0] for p, s in zip(predictions, samples, strict=True)]))


@pytest.fixture(scope="module")
def two_versions(
    shapes: list[Sample],  # noqa: F811 - the imported fixture
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[TrainingResult], list[Progress], TrainingResult]:
    early: list[TrainingResult] = []
    progress: list[Progress] = []
    out = tmp_path_factory.mktemp("quick") / "model"
    final = train(quick_spec(), shapes, out, on_progress=progress.append, on_version=early.append)
    return early, progress, final


def test_a_quick_version_is_published_before_the_fine_tune(two_versions) -> None:
    early, progress, final = two_versions
    assert len(early) == 1 and early[0].artifact_dir != final.artifact_dir
    assert manifest(early[0].artifact_dir)["phase"] == "quick" and manifest(final.artifact_dir)["phase"] == "fine_tune"
    assert [(p.phase, p.epoch) for p in progress] == [("quick", 0), ("fine_tune", 1)]
    assert progress[0].metric == pytest.approx(early[0].metrics["accuracy"], abs=1e-4)


def test_the_quick_version_learns_and_scores_as_served(two_versions, shapes: list[Sample]) -> None:  # noqa: F811
    quick = two_versions[0][0]
    assert quick.metrics["accuracy"] >= 0.8 and quick.metrics["evaluated_on"] == "validation"
    assert quick.metrics["test"]["test_size"] == 4 and "confusion_matrix" in quick.metrics
    assert (quick.train_size, quick.validation_size) == (32, 8)
    validation = split_samples(shapes, seed=0).validation
    assert served_accuracy(quick.artifact_dir, validation) == pytest.approx(quick.metrics["accuracy"])


@pytest.mark.parametrize(
    "overrides",
    [{"quick_first_version": False}, {"arch": "resnet18"}, {"task_type": "regression", "labels": ("v",)}],
    ids=["turned-off", "not-pretrained", "regression"],
)
def test_no_quick_version_without_the_setting_a_pretrained_backbone_or_classes(
    overrides: dict,
    shapes: list[Sample],  # noqa: F811
    tmp_path: Path,
) -> None:
    samples = [Sample(s.image_id, s.path, s.labels, value=float(i), test=s.test) for i, s in enumerate(shapes[:12])]
    early: list[TrainingResult] = []
    train(quick_spec(**overrides), samples, tmp_path / "model", on_version=early.append)
    assert early == []


def test_frozen_features_pool_what_onnx_can_export_at_any_size() -> None:
    backbone, _ = create_backbone("efficientnet_lite0", 2)
    for size, width in ((64, 40 * 4 + 80 * 4 + 112 * 4 + 192), (224, 40 * 4 + 80 + 112 + 192 * 4)):
        features = FrozenFeatures(backbone, size).eval()
        with torch.inference_mode():
            assert features(torch.zeros(3, 3, size, size)).shape == (3, width)
    assert not any(p.requires_grad for p in features.parameters())


def test_the_fine_tune_is_the_same_with_or_without_the_quick_version(
    two_versions,
    shapes: list[Sample],  # noqa: F811
    tmp_path: Path,
) -> None:
    alone = train(quick_spec(quick_first_version=False), shapes, tmp_path / "model")
    after_quick = torch.load(Path(two_versions[2].artifact_dir, "model.pt"), weights_only=True)
    weights = torch.load(Path(alone.artifact_dir, "model.pt"), weights_only=True)
    assert all(torch.equal(weights[name], tensor) for name, tensor in after_quick.items())
