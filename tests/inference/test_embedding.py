"""Serving a similarity artifact: unit vectors of the manifest's width, the same as the trained model's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inference import load_predictor
from inference.descriptors import generic_embeddings
from inference.embedding import Embedder
from inference.manifest import IncompatibleArtifact
from training.loop import predict
from training.similarity import EmbeddingModel, train_embedder
from training.similarity_data import load_crops
from training.spec import EmbeddingSample, EmbeddingSpec, TrainingResult

pytestmark = pytest.mark.usefixtures("restore_torch_threads")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingResult, list[EmbeddingSample]]:
    folder, rng = tmp_path_factory.mktemp("views"), np.random.default_rng(0)
    samples = []
    for item in range(6):
        colour = rng.integers(0, 256, 3)
        for view in range(3):
            pixels = np.clip(colour + rng.normal(0, 30, (24, 30, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{item}-{view}.png")
            samples.append(EmbeddingSample(f"{item}-{view}", str(folder / f"{item}-{view}.png"), f"g{item}"))
    spec = EmbeddingSpec(
        arch="resnet18", dimension=16, image_size=32, epochs=2, batch_size=6, num_threads=1, device="cpu"
    )
    return train_embedder(spec, samples, tmp_path_factory.mktemp("embedder") / "model"), samples


def copy_with_manifest(source: str, target: Path, **changes: object) -> Path:
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text()) | changes
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_embeddings_are_unit_vectors_of_the_manifest_dimension(artifact: tuple[TrainingResult, list]) -> None:
    result, samples = artifact
    embedder = Embedder(result.artifact_dir, num_threads=1)
    vectors = embedder.predict([Image.open(s.path) for s in samples[:5]])
    assert embedder.dimension == 16 and vectors.shape == (5, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.predict([]).shape == (0, 16)


def test_served_embeddings_are_the_trained_models(artifact: tuple[TrainingResult, list]) -> None:
    result, samples = artifact
    from training.backbones import create_backbone

    model = EmbeddingModel(create_backbone("resnet18", 16)[0])
    model.load_state_dict(torch.load(Path(result.artifact_dir) / "model.pt", weights_only=True))
    expected = predict(model, load_crops(samples, 32)[0], "cpu")
    served = Embedder(result.artifact_dir, num_threads=1).predict([Image.open(s.path) for s in samples])
    np.testing.assert_allclose(served, expected, atol=1e-4)
    first = Embedder(result.artifact_dir, num_threads=1).predict([Image.open(samples[0].path)])
    np.testing.assert_allclose(first[0], served[0], atol=1e-5)  # batching does not change a vector


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"format_version": 2}, "format 2"),
        ({"task_type": "multi_class"}, "not an embedding model"),
        ({"dimension": 32}, "outputs 16 values"),
        ({"dimension": None}, "positive dimension"),
    ],
)
def test_mismatched_manifests_are_incompatible(
    artifact: tuple[TrainingResult, list], tmp_path: Path, changes: dict, message: str
) -> None:
    folder = copy_with_manifest(artifact[0].artifact_dir, tmp_path / "copy", **changes)
    with pytest.raises(IncompatibleArtifact, match=message):
        Embedder(folder)


def test_a_directory_without_an_artifact_is_incompatible(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleArtifact, match="manifest"):
        Embedder(tmp_path)


def test_generic_embeddings_are_the_untrained_descriptor_served_by_onnxruntime(ready_models: Path) -> None:
    from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, to_batch
    from inference.pretrained import efficientnet_lite0

    images = [Image.new("RGB", (40, 30), (200, 30, 30)), Image.new("RGB", (30, 40), (30, 30, 200))]
    vectors = generic_embeddings(images, ready_models, num_threads=1)
    assert vectors.shape == (2, 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    model, pretrained = efficientnet_lite0(num_classes=0)
    with torch.inference_mode():
        expected = model.eval()(torch.from_numpy(to_batch(images, 224, IMAGENET_MEAN, IMAGENET_STD))).numpy()
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert pretrained and np.abs(vectors - expected).max() < 1e-4, "the exported model is the torch one"
    assert generic_embeddings([], ready_models).shape == (0, 1280)


def test_the_descriptor_is_served_without_importing_torch(ready_models: Path) -> None:
    generic_embeddings([Image.new("RGB", (8, 8))], ready_models)  # exported (once per session) before
    code = (
        "import sys; from PIL import Image; from inference.descriptors import generic_embeddings; "
        f"vectors = generic_embeddings([Image.new('RGB', (50, 40), (9, 120, 30))], {str(ready_models)!r}); "
        "assert vectors.shape == (1, 1280); assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_load_predictor_serves_an_embedding_artifact(artifact: tuple[TrainingResult, list]) -> None:
    result, samples = artifact
    loaded = load_predictor(result.artifact_dir, num_threads=1)
    assert isinstance(loaded, Embedder)
    assert loaded.predict([Image.open(samples[0].path)]).shape == (1, 16)
