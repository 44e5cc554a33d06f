"""Export a task, import it into another workspace, export again: the same content, every format."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from pycocotools.coco import COCO

from tests.ximilar_platform.datasets.conftest import files_of, task_content
from ximilar_platform.detection.models import DetectionTask
from ximilar_platform.recognition.models import Task
from ximilar_platform.similarity.models import SimilarityTask

IMAGE_SUFFIXES = (".png", ".jpg", ".webp")


def comparable(archive: bytes) -> dict[str, Any]:
    """An archive's files: images by checksum, COCO without its capture dates, other text as it is."""
    found: dict[str, Any] = {}
    for name, data in files_of(archive).items():
        if name.endswith(IMAGE_SUFFIXES):
            found[name] = hashlib.sha256(data).hexdigest()
        elif name.endswith(".coco.json"):
            document = json.loads(data)
            for image in document["images"]:
                image.pop("date_captured")
            found[name] = document
        else:
            found[name] = data.decode()
    return found


def imported_task(job: dict) -> Any:
    model = {"detection": DetectionTask, "similarity": SimilarityTask}.get(job["task_kind"], Task)
    return model.objects.get(id=job["task"])


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("boxes", "json"),
        ("boxes", "coco"),
        ("boxes", "yolo"),
        ("boxes", "voc"),
        ("categories", "json"),
        ("categories", "class_folders"),
        ("tags", "json"),
        ("values", "json"),
        ("values", "csv"),
        ("groups", "json"),
    ],
)
def test_a_task_exported_imported_elsewhere_and_exported_again_is_unchanged(
    request, jobs, bob_jobs, fixture: str, fmt: str
) -> None:
    task = request.getfixturevalue(fixture)
    first = jobs.export(task, fmt)
    job = bob_jobs.import_(first, fmt)
    copy = imported_task(job)
    assert copy.workspace_id == bob_jobs.user.workspace.id and copy.id != task.id
    again = bob_jobs.export(copy, fmt)
    assert comparable(again) == comparable(first)
    original, imported = task_content(task), task_content(copy)
    assert len(original["images"]) >= 3
    if fmt != "json":  # only the lossless format keeps meta_data, descriptions, colours and box labels
        for content in (original, imported):
            content.pop("labels")
            for image in content["images"].values():
                image.pop("meta", None)
                image["boxes"] = [box[:2] for box in image.get("boxes", [])]
    if fmt == "voc":  # VOC keeps whole pixels: the half-pixel box moves to the nearest one
        for image in original["images"].values():
            image["boxes"] = [(label, [float(int(v + 0.5)) for v in box]) for label, box in image["boxes"]]
    assert imported == original
    if fixture == "groups":  # the structure is there to compare: a group of groups, a test group, a box
        footwear, boot, handbag = (imported["groups"][name] for name in ("footwear", "boot", "handbag"))
        assert footwear["groups"] == ["boot", "red things", "shoe"] and boot["test"] and handbag["objects"]
        assert [name for name, (_, in_task) in imported["labels"] if in_task] == ["product"]
    if fixture == "tags":  # the tagging task's negative label became the new task's own
        assert copy.type == "multi_label" and copy.negative_labels.get().image_labels.count() == 1


def test_every_coco_file_written_reads_with_pycocotools(jobs, boxes, tmp_path) -> None:
    files = files_of(jobs.export(boxes, "coco"))
    assert sorted(name for name in files if name.endswith(".json")) == [
        "train/_annotations.coco.json",
        "val/_annotations.coco.json",
    ]
    expected = {name: boxes_of(boxes, files[name]) for name in files if name.endswith(IMAGE_SUFFIXES)}
    for split in ("train", "val"):
        path = tmp_path / f"{split}.json"
        path.write_bytes(files[f"{split}/_annotations.coco.json"])
        coco = COCO(str(path))
        assert sorted(coco.getImgIds()) == list(range(1, len(coco.getImgIds()) + 1))
        assert sorted(coco.getAnnIds()) == list(range(1, len(coco.getAnnIds()) + 1))
        names = {category["id"]: category["name"] for category in coco.loadCats(coco.getCatIds())}
        assert names == {1: "car", 2: "person"}
        for image in coco.loadImgs(coco.getImgIds()):
            found = sorted(
                (names[a["category_id"]], [round(v, 2) for v in xyxy(a["bbox"])])
                for a in coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
            )
            assert found == expected[f"{split}/{image['file_name']}"]
    assert sum(1 for name in expected if name.startswith("val/")) == 1


def xyxy(bbox: list[float]) -> list[float]:
    return [bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]]


def boxes_of(task: DetectionTask, data: bytes) -> list:
    from ximilar_platform.images.models import TrainingImage

    sha = hashlib.sha256(data).hexdigest()
    for image in TrainingImage.objects.filter(workspace=task.workspace):
        with image.file.open("rb") as file:
            if hashlib.sha256(file.read()).hexdigest() == sha:
                return sorted(
                    (o.detection_label.name, [float(v) for v in o.data]) for o in image.detection_objects.all()
                )
    raise AssertionError("an exported image that is not in the task")
