"""Tiny trained models for flow tests: trained once per session with the `training` library, and
registered per test as versions of real tasks through `training_jobs.services.record_version`."""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.factories import colour_image_base64, item_view_base64
from training.spec import TrainingResult
from ximilar_platform.detection.models import DetectionLabel, DetectionTask
from ximilar_platform.flows.models import Flow
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs import runner
from ximilar_platform.training_jobs.models import TrainingJob

# Label ids baked into the colour model's manifest; each test creates Label rows with these ids.
RED, BLUE = "1e0c3b7a-0d55-4a43-9a0f-3f1d7a1b0001", "1e0c3b7a-0d55-4a43-9a0f-3f1d7a1b0002"
EMBEDDING_DIMENSION = 16


def _write(folder: Path, name: str, encoded: str) -> str:
    path = folder / f"{name}.png"
    path.write_bytes(base64.b64decode(encoded))
    return str(path)


@pytest.fixture(scope="session")
def colour_model(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    """red vs blue at 32 px: resnet18, a few seconds on one thread."""
    import torch

    from training.classification import train
    from training.spec import Sample, TrainingSpec

    folder = tmp_path_factory.mktemp("colours")
    samples = [
        Sample(f"{colour}{i}", _write(folder, f"{colour}{i}", colour_image_base64(i, colour)), (label,))
        for colour, label in (("red", RED), ("blue", BLUE))
        for i in range(12)
    ]
    spec = TrainingSpec(
        task_type="multi_class",
        labels=(RED, BLUE),
        arch="resnet18",
        image_size=32,
        epochs=6,
        batch_size=8,
        num_threads=1,
        device="cpu",
    )
    threads = torch.get_num_threads()
    try:
        return train(spec, samples, folder / "model")
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def embedder_model(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    """An embedder of synthetic items: quality does not matter here, only its dimension and norm."""
    import torch

    from training.similarity import train_embedder
    from training.spec import EmbeddingSample, EmbeddingSpec

    folder = tmp_path_factory.mktemp("items")
    samples = [
        EmbeddingSample(f"{item}-{view}", _write(folder, f"{item}-{view}", item_view_base64(item, view)), f"item{item}")
        for item in range(8)
        for view in range(3)
    ]
    spec = EmbeddingSpec(
        arch="resnet18",
        dimension=EMBEDDING_DIMENSION,
        image_size=32,
        epochs=1,
        batch_size=8,
        num_threads=1,
        device="cpu",
    )
    threads = torch.get_num_threads()
    try:
        return train_embedder(spec, samples, folder / "model")
    finally:
        torch.set_num_threads(threads)


def register(task, kind: str, result: TrainingResult, work: Path, labels: list[str] | None = None) -> None:
    """Publish ``result`` as the task's next version and deploy it, as a finished training job would."""
    if labels is not None:  # the shared detector was trained with label names; our rows have UUIDs
        copy = work / f"{kind}-{task.id}"
        shutil.copytree(result.artifact_dir, copy)
        manifest = json.loads((copy / "manifest.json").read_text())
        (copy / "manifest.json").write_text(json.dumps({**manifest, "labels": labels}))
        result = replace(result, artifact_dir=str(copy))
    job = TrainingJob.objects.create(workspace=task.workspace, task_kind=kind, task_id=task.id, state="running")
    version = runner.record_version(job=job, result=result)
    job.succeed(version=version)
    type(task).objects.filter(id=task.id).update(production_version=version.version)


@dataclass
class Models:
    colours: Task
    shapes: DetectionTask
    items: SimilarityTask


@pytest.fixture
def models(alice, colour_model, embedder_model, shapes_detector, tmp_path) -> Models:
    workspace = alice.workspace
    colours = Task.objects.create(workspace=workspace, name="colours")
    for label_id, name in ((RED, "red"), (BLUE, "blue")):
        colours.labels.add(Label.objects.create(id=label_id, workspace=workspace, name=name))
    register(colours, "recognition", colour_model, tmp_path)
    shapes = DetectionTask.objects.create(workspace=workspace, name="shapes")
    shape_labels = [DetectionLabel.objects.create(workspace=workspace, name=name) for name in ("rect", "circle")]
    shapes.labels.add(*shape_labels)
    register(shapes, "detection", shapes_detector[0], tmp_path, labels=[str(label.id) for label in shape_labels])
    items = SimilarityTask.objects.create(workspace=workspace, name="items")
    register(items, "similarity", embedder_model, tmp_path)
    return Models(*(type(task).objects.get(id=task.id) for task in (colours, shapes, items)))


def make_flow(user, top_node: dict, name: str = "flow") -> Flow:
    """A flow stored through the API, as a user would create it."""
    response = user.client.post("/flows/v2/flow", {"name": name, "top_node": top_node}, format="json")
    assert response.status_code == 201, response.json()
    return Flow.objects.get(id=response.json()["id"])
