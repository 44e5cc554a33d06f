"""The ONNX predictor serves what training wrote: the same numbers as the torch model, in the promised shape."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inference import load_predictor
from inference.classification import ClassificationPredictor, IncompatibleArtifact
from inference.preprocess import to_batch
from training.backbones import create_backbone
from training.classification import train
from training.spec import Sample, TrainingSpec

SIZE = 32


pytestmark = pytest.mark.usefixtures("restore_torch_threads")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Image.Image]]:
    """12 images, reddish or bluish, of varied sizes (the predictor squashes them to 32 px)."""
    folder, rng = tmp_path_factory.mktemp("images"), np.random.default_rng(0)
    made = []
    for i in range(12):
        pixels = rng.integers(0, 100, (SIZE + i, SIZE + 2 * i, 3), dtype=np.uint8)
        pixels[:, :, 2 * (i % 2)] += 150
        path = folder / f"{i}.png"
        Image.fromarray(pixels).save(path)
        made.append((str(path), Image.open(path).convert("RGB")))
    return made


def trained(
    task_type: str, labels: tuple[str, ...], images: list[tuple[str, Image.Image]], folder: Path, **extra: Any
) -> Path:
    samples = [
        Sample(image_id=str(i), path=path, labels=(labels[i % len(labels)],), value=float(i % 2) * 5 + 1)
        for i, (path, _) in enumerate(images)
    ]
    spec = TrainingSpec(
        task_type=task_type,
        labels=labels,
        arch="mobilenet_v3_small",
        image_size=SIZE,
        epochs=1,
        batch_size=6,
        num_threads=1,
        **extra,
    )
    return Path(train(spec, samples, folder / task_type).artifact_dir)


@pytest.fixture(scope="module")
def artifacts(images: list[tuple[str, Image.Image]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("artifacts")
    return {
        "multi_class": trained("multi_class", ("red", "blue"), images, folder),
        "multi_label": trained("multi_label", ("red", "blue", "neg"), images, folder, negative_label="neg"),
        "regression": trained("regression", ("value",), images, folder),
    }


def torch_outputs(artifact: Path, batch: np.ndarray) -> np.ndarray:
    manifest = json.loads((artifact / "manifest.json").read_text())
    model, _ = create_backbone(manifest["arch"], len(manifest["labels"]))
    model.load_state_dict(torch.load(artifact / "model.pt", weights_only=True))
    with torch.inference_mode():
        return model.eval()(torch.from_numpy(batch)).double().numpy()


def by_label(prediction: list[dict[str, Any]], labels: list[str], key: str = "prob") -> list[float]:
    return [next(entry[key] for entry in prediction if entry["label"] == label) for label in labels]


def test_categorizer_reproduces_the_torch_model_of_the_artifact(artifacts: dict[str, Path], images: list) -> None:
    predictor = ClassificationPredictor(artifacts["multi_class"], num_threads=1)
    pictures = [image for _, image in images]
    logits = torch_outputs(artifacts["multi_class"], to_batch(pictures, SIZE, predictor.mean, predictor.std))
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predictions = predictor.predict(pictures)
    assert np.allclose([by_label(p, ["red", "blue"]) for p in predictions], expected, atol=1e-4)


def test_categorizer_lists_every_label_most_probable_first(artifacts: dict[str, Path], images: list) -> None:
    predictions = ClassificationPredictor(artifacts["multi_class"]).predict([image for _, image in images[:3]])
    assert len(predictions) == 3
    for prediction in predictions:
        probs = [entry["prob"] for entry in prediction]
        assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0)
        assert sorted(entry["label"] for entry in prediction) == ["blue", "red"]


def test_tagger_gives_independent_probabilities_and_threshold_decisions(
    artifacts: dict[str, Path], images: list, tmp_path: Path
) -> None:
    artifact = tmp_path / "tagger"
    shutil.copytree(artifacts["multi_label"], artifact)
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert manifest["labels"] == ["red", "blue"]
    manifest["thresholds"] = {"red": 0.0, "blue": 1.0}
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    predictor = ClassificationPredictor(artifact)
    pictures = [image for _, image in images[:4]]
    logits = torch_outputs(artifact, to_batch(pictures, SIZE, predictor.mean, predictor.std))
    for prediction, row in zip(predictor.predict(pictures), logits, strict=True):
        assert np.allclose(by_label(prediction, ["red", "blue"]), 1 / (1 + np.exp(-row)), atol=1e-4)
        assert [entry["prob"] for entry in prediction] == sorted((entry["prob"] for entry in prediction), reverse=True)
        assert by_label(prediction, ["red", "blue"], "passed") == [True, False]


def test_regression_answers_values_in_the_targets_units(artifacts: dict[str, Path], images: list) -> None:
    predictor = ClassificationPredictor(artifacts["regression"])
    target = predictor.manifest["target"]
    pictures = [image for _, image in images[:3]]
    raw = torch_outputs(artifacts["regression"], to_batch(pictures, SIZE, predictor.mean, predictor.std))
    predictions = predictor.predict(pictures)
    assert [[set(entry) for entry in p] for p in predictions] == [[{"label", "value"}]] * 3
    values = [p[0]["value"] for p in predictions]
    assert np.allclose(values, raw[:, 0] * target["std"] + target["mean"], atol=1e-3)


def test_predictor_describes_its_artifact(artifacts: dict[str, Path]) -> None:
    predictor = ClassificationPredictor(artifacts["multi_label"])
    assert (predictor.task_type, predictor.labels, predictor.image_size) == ("multi_label", ["red", "blue"], SIZE)
    assert predictor.manifest["format_version"] == 1


def test_all_images_go_through_one_forward_pass(
    artifacts: dict[str, Path], images: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictor = ClassificationPredictor(artifacts["multi_class"])
    batches = []
    run = predictor.session.run
    monkeypatch.setattr(
        predictor.session, "run", lambda names, feeds: batches.append(feeds["input"].shape) or run(names, feeds)
    )
    assert len(predictor.predict([image for _, image in images])) == 12
    assert batches == [(12, 3, SIZE, SIZE)]
    assert predictor.predict([]) == []


def test_to_batch_squashes_scales_and_normalises() -> None:
    image = Image.new("RGB", (50, 20), (255, 0, 128))
    batch = to_batch([image, image], 8, mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 1.0))
    assert batch.shape == (2, 3, 8, 8) and batch.dtype == np.float32
    assert np.allclose(batch[0, :, 3, 3], [1.0, -2.0, 128 / 255 - 0.5], atol=1e-6)


@pytest.mark.parametrize(
    "change", [{"format_version": 2}, {"format_version": None}, {"task_type": "detection"}, {"labels": None}]
)
def test_an_incompatible_manifest_is_refused(
    change: dict[str, Any], artifacts: dict[str, Path], tmp_path: Path
) -> None:
    artifact = tmp_path / "artifact"
    shutil.copytree(artifacts["multi_class"], artifact)
    manifest = json.loads((artifact / "manifest.json").read_text()) | change
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IncompatibleArtifact):
        ClassificationPredictor(artifact)


def test_a_missing_or_broken_artifact_is_refused(artifacts: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(IncompatibleArtifact):
        ClassificationPredictor(tmp_path / "nothing-here")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IncompatibleArtifact):
        ClassificationPredictor(tmp_path)
    shutil.copy(artifacts["multi_class"] / "manifest.json", tmp_path / "manifest.json")
    with pytest.raises(IncompatibleArtifact, match="model.onnx"):
        ClassificationPredictor(tmp_path)


@pytest.mark.parametrize("task_type", ["multi_class", "multi_label", "regression"])
def test_load_predictor_serves_each_classification_artifact(
    task_type: str, artifacts: dict[str, Path], images: list
) -> None:
    pictures = [image for _, image in images]
    loaded = load_predictor(artifacts[task_type], num_threads=1)
    assert isinstance(loaded, ClassificationPredictor) and loaded.task_type == task_type
    assert loaded.predict(pictures) == ClassificationPredictor(artifacts[task_type], num_threads=1).predict(pictures)
