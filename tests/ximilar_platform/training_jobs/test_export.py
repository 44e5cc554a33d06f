"""A downloaded version runs alone: its predict.py and its README's snippet, in a fresh process, answer what the
API answers."""

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
from training.spec import Sample, TrainingResult, TrainingSpec
from ximilar_platform.detection.models import DetectionLabel, DetectionTask
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs.models import ModelVersion

VALUE = "1e0c3b7a-0d55-4a43-9a0f-3f1d7a1b0003"


def tiny_colour_model(folder: Path, task_type: str, labels: tuple[str, ...], samples: list[Sample]) -> TrainingResult:
    """A model of the colour images in a few seconds: its answers need only be the API's, not good."""
    import torch

    from training.classification import train

    spec = TrainingSpec(
        task_type=task_type,
        labels=labels,
        arch="resnet18",
        image_size=32,
        epochs=4,
        batch_size=8,
        num_threads=1,
        device="cpu",
    )
    threads = torch.get_num_threads()
    try:
        return train(spec, samples, folder / "model")
    finally:
        torch.set_num_threads(threads)


def colour_file(folder: Path, index: int, colour: str) -> str:
    path = folder / f"{colour}{index}.png"
    path.write_bytes(base64.b64decode(colour_image_base64(index, colour)))
    return str(path)


@pytest.fixture(scope="module")
def tag_model(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    """Tags red and blue; the green images carry both."""
    folder = tmp_path_factory.mktemp("tags")
    samples = [
        Sample(f"{colour}{i}", colour_file(folder, i, colour), tags)
        for colour, tags in (("red", (RED,)), ("blue", (BLUE,)), ("green", (RED, BLUE)))
        for i in range(8)
    ]
    return tiny_colour_model(folder, "multi_label", (RED, BLUE), samples)


@pytest.fixture(scope="module")
def value_model(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    """Red images are worth 10, blue ones 90."""
    folder = tmp_path_factory.mktemp("values")
    samples = [
        Sample(f"{colour}{i}", colour_file(folder, i, colour), (VALUE,), value=value)
        for colour, value in (("red", 10.0), ("blue", 90.0))
        for i in range(8)
    ]
    return tiny_colour_model(folder, "regression", (VALUE,), samples)


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


def run_snippet(folder: Path, name: str, data: bytes) -> list[list[str]]:
    """The README's snippet saved as it says and run on one image, in a process with only the zip's folder."""
    code = (folder / "README.md").read_text().split("```python\n", 1)[1].split("```", 1)[0]
    (folder / "snippet.py").write_text(code)
    (folder / name).write_bytes(data)
    done = subprocess.run(
        [sys.executable, "snippet.py", name], cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines()]


def api_record(user, kind: str, action: str, task, data: bytes) -> dict:
    """The API's answer for one image, alone in its request as the snippet runs it (a batch may round otherwise)."""
    body = {"task_id": str(task.id), "records": records_of({"image": data})}
    response = user.client.post(f"/{kind}/v2/{action}", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["records"][0]


def assert_same_labels(printed: list[list[str]], labels: list[dict], key: str = "prob") -> None:
    assert [name for name, _ in printed] == [label["name"] for label in labels]
    assert [float(number) for _, number in printed] == pytest.approx([label[key] for label in labels], abs=1e-4)


def decoded_size(data: bytes, side: int = 1024) -> tuple[int, int]:
    """The size libjpeg decodes at when both sides must stay at least ``side`` (the service's default)."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (side, side))
    return image.size


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
    big_red = Image.open(io.BytesIO(base64.b64decode(colour_image_base64(5, "red")))).resize((2800, 2100))
    images = {
        "red.png": base64.b64decode(colour_image_base64(99, "red")),
        "blue.png": base64.b64decode(colour_image_base64(98, "blue")),
        "big.jpg": jpeg(big_red),  # decoded at half scale by the service (both sides stay >= 1024)
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
    assert printed[2]["_width"] == 2800 and decoded_size(images["big.jpg"]) == (1400, 1050)
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


def test_the_readme_snippet_of_a_classifier_prints_what_classify_answers(alice, colour_model, tmp_path) -> None:
    task = colour_task(alice, colour_model, tmp_path)
    folder = unzipped(alice.client.get(f"/recognition/v2/model/{version_of(task).id}/download"), tmp_path / "zip")
    assert "python snippet.py photo.jpg" in (folder / "README.md").read_text()
    big_blue = Image.open(io.BytesIO(base64.b64decode(colour_image_base64(6, "blue")))).resize((2800, 2100))
    clear_red = Image.open(io.BytesIO(base64.b64decode(colour_image_base64(96, "red")))).convert("RGBA")
    clear_red.putalpha(100)  # on white, as the service puts it
    images = {"red.png": base64.b64decode(colour_image_base64(97, "red")), "big.jpg": jpeg(big_blue)}
    images["clear.png"] = png(clear_red)
    assert decoded_size(images["big.jpg"]) == (1400, 1050)
    for (name, data), best in zip(images.items(), ("Red!", "blue", "Red!"), strict=True):
        printed = run_snippet(folder, name, data)
        assert printed[0][0] == best
        assert_same_labels(printed, api_record(alice, "recognition", "classify", task, data)["labels"])


def test_the_readme_snippet_of_a_detector_prints_the_boxes_detect_finds(alice, shapes_detector, tmp_path) -> None:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="shapes")
    labels = [DetectionLabel.objects.create(workspace=alice.workspace, name=name) for name in ("rect", "circle")]
    task.labels.add(*labels)
    register(task, "detection", shapes_detector[0], tmp_path, labels=[str(label.id) for label in labels])
    folder = unzipped(alice.client.get(f"/detection/v2/model/{version_of(task).id}/download"), tmp_path / "zip")
    rng = np.random.default_rng(4)
    drawn = [shapes_image(rng, 200, 150, objects=2)[0] for _ in range(2)]
    images = {"one.png": png(drawn[0]), "big.jpg": jpeg(drawn[1].resize((2800, 2100)))}
    assert decoded_size(images["big.jpg"]) == (1400, 1050)
    for name, data in images.items():
        printed = run_snippet(folder, name, data)
        objects = api_record(alice, "detection", "detect", task, data)["_objects"]
        assert objects and len(printed) == len(objects)
        assert_same_labels([[label, prob] for label, prob, _ in printed], objects)
        boxes = [[int(side) for side in box.split()] for _, _, box in printed]
        assert boxes == [pytest.approx(obj["bound_box"], abs=1) for obj in objects]  # a pixel, for float sums


def test_the_readme_snippet_of_an_embedder_prints_the_descriptor_the_api_gives(alice, embedder_model, tmp_path) -> None:
    task = SimilarityTask.objects.create(workspace=alice.workspace, name="items")
    register(task, "similarity", embedder_model, tmp_path)
    folder = unzipped(alice.client.get(f"/similarity/training/v2/model/{version_of(task).id}/download"), tmp_path)
    data = base64.b64decode(item_view_base64(3, 2))
    ((printed,),) = run_snippet(folder, "item.png", data)
    described = api_record(alice, "similarity/training", "descriptor", task, data)["_descriptor"]
    assert json.loads(printed) == pytest.approx(described, abs=1e-4)


def recognition_task(alice, kind: str, label_type: str, result: TrainingResult, tmp_path: Path) -> Task:
    task = Task.objects.create(workspace=alice.workspace, name=kind, type=kind)
    for label_id in json.loads((Path(result.artifact_dir) / "manifest.json").read_text())["labels"]:
        name = {RED: "red", BLUE: "blue", VALUE: "price"}[label_id]
        task.labels.add(Label.objects.create(id=label_id, workspace=alice.workspace, name=name, type=label_type))
    register(task, "recognition", result, tmp_path)
    return task


def test_a_downloaded_tagger_answers_what_classify_answers(alice, tag_model, tmp_path) -> None:
    task = recognition_task(alice, "multi_label", "tag", tag_model, tmp_path)
    folder = unzipped(alice.client.get(f"/recognition/v2/model/{version_of(task).id}/download"), tmp_path / "zip")
    assert set(json.loads((folder / "manifest.json").read_text())["thresholds"]) == {RED, BLUE}
    images = {f"{colour}.png": base64.b64decode(colour_image_base64(90, colour)) for colour in ("red", "blue", "green")}
    body = {"task_id": str(task.id), "records": records_of(images)}
    classified = alice.client.post("/recognition/v2/classify", body, format="json").json()["records"]
    assert [record["best_label"]["name"] for record in classified] == ["red", "blue", "red"]  # green: both
    assert_close(run_predict(folder, images), answered(classified))
    for (name, data), record in zip(images.items(), classified, strict=True):
        assert_same_labels(run_snippet(folder, name, data), record["labels"])  # the tags over their thresholds


def test_a_downloaded_regressor_answers_what_classify_answers(alice, value_model, tmp_path) -> None:
    task = recognition_task(alice, "regression", "value", value_model, tmp_path)
    folder = unzipped(alice.client.get(f"/recognition/v2/model/{version_of(task).id}/download"), tmp_path / "zip")
    images = {f"{colour}.png": base64.b64decode(colour_image_base64(90, colour)) for colour in ("red", "blue")}
    body = {"task_id": str(task.id), "records": records_of(images)}
    classified = alice.client.post("/recognition/v2/classify", body, format="json").json()["records"]
    printed = run_predict(folder, images)
    assert [record["best_label"]["name"] for record in printed] == ["price", "price"]
    assert printed[0]["best_label"]["value"] < printed[1]["best_label"]["value"]  # red is worth less than blue
    assert_close(printed, answered(classified))
    for (name, data), record in zip(images.items(), classified, strict=True):
        assert_same_labels(run_snippet(folder, name, data), record["labels"], key="value")


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
