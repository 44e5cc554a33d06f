"""A downloaded version runs alone: its predict.py, in a fresh process, answers what the API answers."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.detection_shapes import shapes_image
from tests.factories import colour_image_base64, item_view_base64
from tests.ximilar_platform.flows.conftest import BLUE, RED, register
from tests.ximilar_platform.web.conftest import signed_in
from ximilar_platform.detection.models import DetectionLabel, DetectionTask
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs.models import ModelVersion


def colour_task(alice, colour_model, tmp_path: Path) -> Task:
    task = Task.objects.create(workspace=alice.workspace, name="Colours of things")
    red = Label.objects.create(id=RED, workspace=alice.workspace, name="red", output_name="Red!")
    task.labels.add(red, Label.objects.create(id=BLUE, workspace=alice.workspace, name="blue"))
    register(task, "recognition", colour_model, tmp_path)
    return task


def version_of(task) -> ModelVersion:
    return ModelVersion.objects.get(task_id=task.id, version=1)


def unzipped(response, folder: Path) -> Path:
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response.streaming  # written while it is sent, not built in memory first
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert sorted(archive.namelist()) == ["README.md", "manifest.json", "model.onnx", "predict.py"]
        archive.extractall(folder)
    return folder


def run_predict(folder: Path, images: dict[str, bytes]) -> list[dict]:
    """predict.py on the images, in a process that has only the zip's folder (no Django, no repository)."""
    for name, data in images.items():
        (folder / name).write_bytes(data)
    done = subprocess.run(
        [sys.executable, "predict.py", *images], cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def records_of(images: dict[str, bytes]) -> list[dict]:
    return [{"_base64": base64.b64encode(data).decode()} for data in images.values()]


def assert_close(mine, theirs, path: str = "") -> None:
    """The same JSON, numbers equal to within the last rounded digit (thread counts may reorder sums)."""
    if isinstance(theirs, dict):
        assert set(mine) == set(theirs), path
        for key in theirs:
            assert_close(mine[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert len(mine) == len(theirs), path
        for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            assert_close(a, b, f"{path}[{index}]")
    elif isinstance(theirs, float):
        assert mine == pytest.approx(theirs, abs=2e-5), path
    else:
        assert mine == theirs, path


def answered(api_records: list[dict]) -> list[dict]:
    return [{key: value for key, value in record.items() if key != "_status"} for record in api_records]


def test_a_downloaded_classifier_answers_what_classify_answers(alice, colour_model, tmp_path) -> None:
    task = colour_task(alice, colour_model, tmp_path)
    big_red = Image.open(io.BytesIO(base64.b64decode(colour_image_base64(5, "red")))).resize((2400, 1800))
    images = {
        "red.png": base64.b64decode(colour_image_base64(99, "red")),
        "blue.png": base64.b64decode(colour_image_base64(98, "blue")),
        "big.jpg": jpeg(big_red),  # decoded at half scale by the service (PREDICT_DECODE_MIN_SIDE 1024)
    }
    response = alice.client.get(f"/recognition/v2/model/{version_of(task).id}/download")
    assert response["Content-Disposition"] == 'attachment; filename="colours-of-things-v1.zip"'
    folder = unzipped(response, tmp_path / "zip")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["labels"] == [RED, BLUE] and manifest["label_names"] == ["Red!", "blue"]
    assert manifest["preprocessing"]["image_size"] == 32 and "accuracy" in manifest["metrics"]
    assert not [key for key in manifest["spec"] if key.endswith("_dir")]
    readme = (folder / "README.md").read_text()
    assert "python predict.py photo.jpg" in readme and f"| 0 | Red! | `{RED}` |" in readme

    printed = run_predict(folder, images)
    body = {"task_id": str(task.id), "records": records_of(images)}
    classified = alice.client.post("/recognition/v2/classify", body, format="json").json()["records"]
    assert [record["best_label"]["name"] for record in printed] == ["Red!", "blue", "Red!"]
    assert printed[2]["_width"] == 2400
    assert_close(printed, answered(classified))


def test_a_downloaded_detector_finds_the_boxes_detect_finds(alice, shapes_detector, tmp_path) -> None:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="shapes")
    labels = [DetectionLabel.objects.create(workspace=alice.workspace, name=name) for name in ("rect", "circle")]
    task.labels.add(*labels)
    register(task, "detection", shapes_detector[0], tmp_path, labels=[str(label.id) for label in labels])
    rng = np.random.default_rng(3)
    drawn = [shapes_image(rng, 200, 150, objects=2)[0] for _ in range(2)]
    images = {"one.png": png(drawn[0]), "two.jpg": jpeg(drawn[1].resize((1600, 1200)))}
    folder = unzipped(alice.client.get(f"/detection/v2/model/{version_of(task).id}/download/"), tmp_path / "zip")

    printed = run_predict(folder, images)
    body = {"task_id": str(task.id), "records": records_of(images)}
    detected = alice.client.post("/detection/v2/detect", body, format="json").json()["records"]
    assert all(record["_objects"] for record in printed)
    assert {obj["name"] for record in printed for obj in record["_objects"]} <= {"rect", "circle"}
    assert_close(printed, answered(detected))


def test_a_downloaded_embedder_gives_the_descriptor_the_api_gives(alice, embedder_model, tmp_path) -> None:
    task = SimilarityTask.objects.create(workspace=alice.workspace, name="items")
    register(task, "similarity", embedder_model, tmp_path)
    images = {"item.png": base64.b64decode(item_view_base64(2, 1))}
    folder = unzipped(alice.client.get(f"/similarity/training/v2/model/{version_of(task).id}/download"), tmp_path)
    printed = run_predict(folder, images)
    body = {"task_id": str(task.id), "records": records_of(images)}
    described = alice.client.post("/similarity/training/v2/descriptor", body, format="json").json()["records"]
    assert_close(printed, answered(described))


def test_another_workspaces_version_answers_404_like_a_missing_one(alice, bob, colour_model, tmp_path) -> None:
    version = version_of(colour_task(alice, colour_model, tmp_path))
    foreign = bob.client.get(f"/recognition/v2/model/{version.id}/download")
    missing = bob.client.get("/recognition/v2/model/7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e/download")
    assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()
    assert alice.client.get(f"/detection/v2/model/{version.id}/download").status_code == 404  # another kind's route


def test_the_version_list_links_the_download(alice, bob, colour_model, tmp_path) -> None:
    task = colour_task(alice, colour_model, tmp_path)
    link = f"/app/versions/{version_of(task).id}/download/"
    html = signed_in(alice).get(f"/app/recognition/{task.id}/models/").content.decode()
    assert f'href="{link}"' in html and "Download model" in html
    folder = unzipped(signed_in(alice).get(link), tmp_path / "zip")
    assert (folder / "model.onnx").read_bytes() == Path(media_model(task)).read_bytes()
    assert signed_in(bob).get(link).status_code == 404


def media_model(task) -> str:
    from django.core.files.storage import default_storage

    name = next(name for name in version_of(task).files if name.endswith("/model.onnx"))
    return default_storage.path(name)
