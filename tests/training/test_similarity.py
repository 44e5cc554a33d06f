"""The similarity trainer splits by group, learns to retrieve unseen items better than its untrained self,
and publishes an artifact whose ONNX graph embeds as the torch model does."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image, ImageDraw

from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, normalise, squash
from training.backbones import create_backbone
from training.retrieval import retrieval_metrics
from training.similarity import EmbeddingModel, train_embedder
from training.similarity_data import crop_box, load_crops
from training.spec import EmbeddingSample, EmbeddingSpec, Progress, TrainingError, TrainingResult
from training.split import split_groups

SIZE = 40
ITEMS, VIEWS, TEST_ITEMS = 48, 4, 8

pytestmark = pytest.mark.usefixtures("restore_torch_threads")


def draw_items(folder: Path, count: int, views: int, *, test_items: int = 0, seed: int = 0) -> list[EmbeddingSample]:
    """Each item is a disc or square of its own colour; each view moves it and repaints the background.

    The background covers most of the image and changes at random, so untrained features
    (which average colours) mostly see it: the model has to learn to look at the object.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for item in range(count):
        colour, square = tuple(int(v) for v in rng.integers(0, 256, 3)), bool(rng.integers(0, 2))
        for view in range(views):
            image = Image.new("RGB", (SIZE, SIZE), tuple(int(v) for v in rng.integers(0, 256, 3)))
            x, y = (int(v) for v in rng.integers(8, SIZE - 22, 2))
            (ImageDraw.Draw(image).rectangle if square else ImageDraw.Draw(image).ellipse)(
                [x, y, x + 14, y + 14], fill=colour
            )
            pixels = np.asarray(image, dtype=np.float64) + rng.normal(0, 10, (SIZE, SIZE, 3))
            path = folder / f"{item}-{view}.png"
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path)
            samples.append(
                EmbeddingSample(f"i{item:02d}-{view}", str(path), f"item{item:02d}", test=item >= count - test_items)
            )
    return samples


def spec(**overrides: Any) -> EmbeddingSpec:
    settings: dict[str, Any] = {
        "arch": "resnet18",
        "dimension": 32,
        "image_size": 32,
        "epochs": 12,
        "batch_size": 16,
        "num_threads": 1,
        "device": "cpu",
    } | overrides
    return EmbeddingSpec(**settings)


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[EmbeddingSample]:
    return draw_items(tmp_path_factory.mktemp("items"), ITEMS, VIEWS, test_items=TEST_ITEMS)


@pytest.fixture(scope="module")
def embedder(items: list[EmbeddingSample], tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingResult, list]:
    progress: list[Progress] = []
    out = tmp_path_factory.mktemp("embedder") / "model"
    return train_embedder(spec(), items, out, on_progress=progress.append), progress


def grouped(counts: dict[str, int], *, test: set[str] = frozenset()) -> list[EmbeddingSample]:
    return [
        EmbeddingSample(f"{group}-{i}", f"/img/{group}-{i}.png", group, test=group in test)
        for group, count in counts.items()
        for i in range(count)
    ]


def test_split_holds_out_whole_groups_and_keeps_test_groups_apart() -> None:
    samples = grouped({f"g{i:02d}": 3 for i in range(20)} | {"solo1": 1, "solo2": 1}, test={"g00", "g01"})
    split = split_groups(samples, seed=0)
    train, validation, test = ({s.group for s in part} for part in (split.train, split.validation, split.test))
    assert test == {"g00", "g01"}
    assert not train & validation and not (train | validation) & test
    assert len(validation - {"solo1", "solo2"}) == round(18 * 0.2)
    assert {"solo1", "solo2"} <= validation and not {"solo1", "solo2"} & train  # distractors, never anchors
    assert len(split.train) + len(split.validation) + len(split.test) == len(samples)


def test_split_is_deterministic_whatever_the_order_and_changes_with_the_seed() -> None:
    samples = grouped({f"g{i:02d}": 2 for i in range(30)})
    shuffled = samples[:]
    random.Random(1).shuffle(shuffled)
    first, second = split_groups(samples, seed=3), split_groups(shuffled, seed=3)
    assert first == second
    assert {s.group for s in split_groups(samples, seed=4).validation} != {s.group for s in first.validation}


def test_split_holds_nothing_out_below_five_groups() -> None:
    split = split_groups(grouped({"a": 3, "b": 3, "c": 2, "d": 2}), seed=0)
    assert not split.validation and len(split.train) == 10


def test_retrieval_metrics_match_a_hand_count() -> None:
    # a1's nearest is the distractor c (miss, a2 second), a2's nearest is a1 (hit); b and c are no queries
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.9, -0.436]])
    metrics = retrieval_metrics(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), ["a", "a", "b", "c"])
    assert metrics["queries"] == 2
    assert metrics["precision_at_1"] == 0.5 and metrics["recall_at_1"] == 0.5
    assert metrics["recall_at_5"] == 1.0 and metrics["map_at_r"] == 0.5


def test_retrieval_metrics_do_not_depend_on_the_query_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from training import retrieval

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(60, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    groups = [f"g{i % 13}" for i in range(60)] + ["solo"]
    vectors = np.vstack([vectors, vectors[:1]])
    whole = retrieval_metrics(vectors, groups)
    monkeypatch.setattr(retrieval, "CHUNK", 7)
    assert retrieval_metrics(vectors, groups) == whole and whole["queries"] == 60


def test_embedder_retrieves_unseen_items_better_than_the_untrained_model(embedder: tuple[TrainingResult, list]) -> None:
    result, _ = embedder
    metrics = result.metrics
    assert metrics["evaluated_on"] == "validation"
    assert (result.train_size, result.validation_size, result.test_size) == (128, 32, 32)
    assert metrics["precision_at_1"] >= metrics["baseline"]["precision_at_1"] + 0.15
    assert metrics["map_at_r"] >= metrics["baseline"]["map_at_r"] + 0.1
    # test groups played no part in choosing the epoch, so they are the honest check
    assert metrics["test"]["map_at_r"] >= metrics["test"]["baseline"]["map_at_r"] + 0.05
    assert {f"recall_at_{k}" for k in (1, 5, 10)} <= set(metrics) and metrics["test"]["test_size"] == 32


def test_progress_reports_validation_precision_every_epoch(embedder: tuple[TrainingResult, list]) -> None:
    result, progress = embedder
    assert [p.epoch for p in progress] == list(range(1, 13)) and result.metrics["epochs_run"] == 12
    assert {(p.epochs, p.metric_name) for p in progress} == {(12, "precision_at_1")}
    best = max(progress, key=lambda p: p.metric)
    assert result.metrics["precision_at_1"] == pytest.approx(best.metric, abs=1e-4)


def test_artifact_holds_the_models_and_a_complete_manifest(embedder: tuple[TrainingResult, list]) -> None:
    result = embedder[0]
    folder = Path(result.artifact_dir)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.onnx", "model.pt"]
    assert not folder.with_name(folder.name + ".part").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["task_type"] == "similarity"
    assert manifest["arch"] == "resnet18" and manifest["dimension"] == 32
    assert manifest["preprocessing"] == {
        "image_size": 32,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "resize": "squash",
    }
    assert manifest["metrics"] == json.loads(json.dumps(result.metrics))
    assert manifest["data_hash"] == result.data_hash and len(result.data_hash) == 64
    assert (manifest["train_size"], manifest["validation_size"], manifest["test_size"]) == (128, 32, 32)


def test_onnx_embeds_as_the_torch_model_with_unit_vectors(
    embedder: tuple[TrainingResult, list], items: list[EmbeddingSample]
) -> None:
    folder = Path(embedder[0].artifact_dir)
    model = EmbeddingModel(create_backbone("resnet18", 32)[0])
    model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
    batch = normalise(load_crops(items[:6], 32)[0], IMAGENET_MEAN, IMAGENET_STD)
    with torch.inference_mode():
        expected = model.eval()(torch.from_numpy(batch)).numpy()
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"] and session.get_outputs()[0].name == "output"
    (exported,) = session.run(["output"], {"input": batch})
    assert exported.shape == (6, 32)
    np.testing.assert_allclose(exported, expected, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(exported, axis=1), 1.0, atol=1e-5)


def test_a_box_embeds_only_its_crop(tmp_path: Path) -> None:
    pixels = np.zeros((30, 40, 3), dtype=np.uint8)
    pixels[5:15, 20:36] = (250, 20, 20)
    Image.fromarray(pixels).save(tmp_path / "scene.png")
    whole = EmbeddingSample("whole", str(tmp_path / "scene.png"), "g")
    boxed = EmbeddingSample("boxed", str(tmp_path / "scene.png"), "g", box=(19.6, 5.0, 36.0, 15.2))
    empty = EmbeddingSample("empty", str(tmp_path / "scene.png"), "g", box=(50.0, 5.0, 60.0, 15.0))
    loaded, kept, unusable = load_crops([whole, boxed, empty], 8)
    assert [s.image_id for s in kept] == ["whole", "boxed"] and unusable == ["empty"]
    expected = squash(Image.fromarray(pixels).crop((19, 5, 36, 16)), 8)
    np.testing.assert_array_equal(loaded[1], expected)
    assert loaded[1].mean(axis=(0, 1))[0] > 200 and loaded[0].mean(axis=(0, 1))[0] < 100
    assert crop_box(Image.fromarray(pixels), None).size == (40, 30)


def test_too_few_groups_is_a_training_error(tmp_path: Path) -> None:
    samples = draw_items(tmp_path, 1, 3)
    with pytest.raises(TrainingError, match="at least 2 groups"):
        train_embedder(spec(epochs=1), samples, tmp_path / "model")
