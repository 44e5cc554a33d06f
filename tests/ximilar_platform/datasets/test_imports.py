"""Imports over the API: the rules for boxes, labels and duplicates, and a failure that leaves nothing."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.factories import image_bytes
from tests.ximilar_platform.datasets.conftest import zip_of
from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Label, Task

RED, GREEN = image_bytes((200, 30, 30), (100, 80)), image_bytes((30, 200, 30), (100, 80))


def coco(images: dict[str, bytes], boxes: dict[str, list[tuple[str, list[float]]]], split: str = "train") -> dict:
    """A COCO subset: its images, and ``boxes`` per file name as [x, y, width, height]."""
    names = sorted({label for found in boxes.values() for label, _ in found})
    categories = [{"id": n + 1, "name": name} for n, name in enumerate(names)]
    entries, annotations = [], []
    for number, name in enumerate(sorted(boxes), start=1):
        entries.append({"id": number, "file_name": name, "width": 100, "height": 80})
        for label, bbox in boxes[name]:
            annotations.append(
                {"id": len(annotations) + 1, "image_id": number, "category_id": names.index(label) + 1, "bbox": bbox}
            )
    document = {"images": entries, "annotations": annotations, "categories": categories}
    return {f"{split}/_annotations.coco.json": json.dumps(document).encode()} | {
        f"{split}/{name}": data for name, data in images.items()
    }


def stored_files(media_root: Path) -> list[Path]:
    return sorted(
        path for folder in ("images", "thumbs") for path in (media_root / folder).rglob("*") if path.is_file()
    )


def test_a_failed_import_leaves_no_row_and_no_file(jobs, alice, media_root) -> None:
    """The good image was staged (written) before the bad ones were found; its files go too."""
    archive = zip_of(
        coco({"a.png": RED, "broken.png": b"not an image"}, {"a.png": [], "broken.png": [], "gone.png": []})
    )
    job = jobs.start_import(archive, "coco")
    assert job["state"] == "failed" and "nothing was imported" in DatasetJob.objects.get().error
    assert sorted((e["file"], e["error"].split(":")[0]) for e in job["errors"]) == [
        ("train/broken.png", "unreadable image"),
        ("train/gone.png", "missing image file"),
    ]
    assert job["task"] is None and not DetectionTask.objects.exists() and not TrainingImage.objects.exists()
    assert stored_files(media_root) == []
    assert not list((media_root / "datasets").rglob("*.zip"))  # the upload went once the job ended


def test_boxes_are_clipped_to_the_image_and_refused_when_nothing_is_left(jobs) -> None:
    clipped = coco({"a.png": RED}, {"a.png": [("car", [-10, 70, 50, 30]), ("car", [90, -5, 40, 40])]})
    job = jobs.import_(zip_of(clipped), "coco")
    boxes = sorted(obj.data for obj in DetectionObject.objects.filter(detection_label__tasks__id=job["task"]))
    assert boxes == [[0.0, 70.0, 40.0, 80.0], [90.0, 0.0, 100.0, 35.0]]
    outside = coco({"b.png": GREEN}, {"b.png": [("car", [120, 10, 20, 20])]})
    failed = jobs.start_import(zip_of(outside), "coco")
    assert failed["state"] == "failed"
    assert failed["errors"] == [
        {"file": "train/b.png", "error": "box 1 (car) [120.0, 10.0, 140.0, 30.0] lies outside the image or is empty"}
    ]


def test_boxes_follow_their_image_when_it_is_downscaled(jobs, settings) -> None:
    settings.TRAINING_IMAGE_MAX_SIDE = 50
    job = jobs.import_(zip_of(coco({"a.png": RED}, {"a.png": [("car", [10, 20, 30, 40])]})), "coco")
    image = TrainingImage.objects.get()
    assert (image.width, image.height) == (50, 40)
    assert DetectionObject.objects.get().data == [5.0, 10.0, 20.0, 30.0]
    assert DetectionTask.objects.get(id=job["task"]).name == "imported"  # named after the archive


def test_into_an_existing_task_labels_match_by_name_new_ones_are_added_and_nothing_is_doubled(jobs, alice) -> None:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="street")
    car = DetectionLabel.objects.create(workspace=alice.workspace, name="car")
    task.labels.add(car)
    archive = zip_of(
        coco({"a.png": RED, "b.png": GREEN}, {"a.png": [("car", [1, 1, 9, 9])], "b.png": [("bus", [2, 2, 8, 8])]})
    )
    jobs.import_(archive, "coco", task=task)
    jobs.import_(archive, "coco", task=task)  # the same images and boxes again
    assert sorted(task.labels.values_list("name", flat=True)) == ["bus", "car"]
    assert DetectionLabel.objects.filter(name="car").get() == car
    assert TrainingImage.objects.count() == 2 and DetectionObject.objects.count() == 2


def test_the_subsets_travel_as_the_test_flag(jobs) -> None:
    archive = coco({"a.png": RED}, {"a.png": []}) | coco({"b.png": GREEN}, {"b.png": []}, split="valid")
    job = jobs.import_(zip_of(archive), "coco")
    task = DetectionTask.objects.get(id=job["task"])
    assert sorted(task.negative_images.values_list("test_image", flat=True)) == [False, True]


def test_class_folders_with_an_image_in_two_folders_tag_it_twice(jobs, alice) -> None:
    from ximilar_platform.recognition.services import create_task

    tags = create_task(workspace=alice.workspace, name="tags", type="multi_label")
    jobs.import_(zip_of({"sky/a.png": RED, "sea/a.png": RED, "sea/b.png": GREEN}), "class_folders", task=tags)
    image = TrainingImage.objects.get(checksum__isnull=False, image_labels__label__name="sky")
    assert sorted(image.labels.values_list("name", flat=True)) == ["sea", "sky"]
    assert set(Label.objects.filter(name__in=["sea", "sky"]).values_list("type", flat=True)) == {"tag"}


def test_a_problem_found_inside_the_transaction_rolls_everything_back(jobs, media_root) -> None:
    document = {
        "format": "ximilar-platform-dataset",
        "version": 1,
        "kind": "recognition",
        "task": {"name": "pets", "type": "multi_class"},
        "labels": [{"name": "cat"}],
        "images": [{"file": "images/a.png", "labels": [{"name": "cat", "value": 2}]}],
    }
    job = jobs.start_import(zip_of({"dataset.json": json.dumps(document).encode(), "images/a.png": RED}), "json")
    assert job["state"] == "failed" and "only value labels take a value" in DatasetJob.objects.get().error
    assert not Task.objects.exists() and not Label.objects.exists() and not TrainingImage.objects.exists()
    assert stored_files(media_root) == []


def test_an_archive_with_a_path_out_of_it_is_refused(jobs) -> None:
    job = jobs.start_import(zip_of({"../../etc/x.png": RED}), "class_folders")
    assert job["state"] == "failed"
    assert job["errors"] == [{"file": "../../etc/x.png", "error": "paths may not climb out of the archive (..)"}]


class Archive(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 -- http.server's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(settings):
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), Archive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/cars.zip"
    server.shutdown()


def test_an_archive_is_imported_from_a_url_within_dataset_max_bytes(
    api, served, settings, django_capture_on_commit_callbacks
) -> None:
    Archive.body = zip_of(coco({"a.png": RED}, {"a.png": [("car", [1, 1, 9, 9])]}))
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post("/datasets/v2/import", {"url": served, "format": "coco"}, format="json")
    job = api.get(f"/datasets/v2/job/{answer.json()['id']}").json()
    assert job["state"] == "succeeded" and DetectionTask.objects.get(id=job["task"]).name == "cars"
    settings.DATASET_MAX_BYTES = len(Archive.body) - 1
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post("/datasets/v2/import", {"url": served, "format": "coco"}, format="json")
    assert "more than the limit" in DatasetJob.objects.get(id=answer.json()["id"]).error


def test_requests_are_checked_before_a_job_is_made(api, alice, bob, settings) -> None:
    assert (
        api.post("/datasets/v2/import", {"format": "nope", "url": "http://x/y.zip"}, format="json").status_code == 400
    )
    assert api.post("/datasets/v2/import", {"format": "coco"}, format="json").status_code == 400
    for url in ("file:///etc/passwd", "http://x/" + "a" * 2000, ["http://x/y.zip"]):
        assert api.post("/datasets/v2/import", {"format": "coco", "url": url}, format="json").status_code == 400
    pets = Task.objects.create(workspace=alice.workspace, name="pets")
    mismatch = api.post("/datasets/v2/export", {"task": str(pets.id), "format": "coco"}, format="json")
    assert mismatch.status_code == 400 and "format" in mismatch.json()["fields"]
    assert (
        bob.client.post("/datasets/v2/export", {"task": str(pets.id), "format": "json"}, format="json").status_code
        == 404
    )
    settings.DATASET_MAX_BYTES = 10
    upload = io.BytesIO(bytes(100))
    upload.name = "big.zip"
    assert api.post("/datasets/v2/import", {"file": upload, "format": "coco"}, format="multipart").status_code == 413
    assert not DatasetJob.objects.exists()


def test_a_job_is_its_workspace_s_own(jobs, bob, categories, client) -> None:
    jobs.export(categories, "json")
    job = DatasetJob.objects.get()
    assert bob.client.get(f"/datasets/v2/job/{job.id}").status_code == 404
    assert bob.client.get(f"/datasets/v2/job/{job.id}/download").status_code == 404
    assert client.get(f"/datasets/v2/job/{job.id}/download").status_code in (401, 403)
    assert jobs.user.client.get("/datasets/v2/job").json()["count"] == 1


def test_an_ended_job_notifies_the_workspace(jobs, categories) -> None:
    from ximilar_platform.notifications.models import Event

    jobs.export(categories, "json")
    failed = jobs.start_import(zip_of({"cat/a.png": b"broken"}), "class_folders")
    exported = Event.objects.get(name="dataset.export.done").payload
    assert exported["state"] == "succeeded" and exported["task"] == {"id": str(categories.id), "kind": "recognition"}
    imported = Event.objects.get(name="dataset.import.done").payload
    assert imported == {
        "job": failed["id"],
        "format": "class_folders",
        "state": "failed",
        "task": None,
        "images": 1,
        "error": DatasetJob.objects.get(id=failed["id"]).error,
        "errors": 1,
    }


def test_a_box_of_a_category_or_class_the_file_does_not_define_is_blamed_on_its_image(jobs) -> None:
    """Unknown labels inside an archive: nothing is imported, and the error says which image and box."""
    archive = coco({"a.png": RED, "b.png": GREEN}, {"a.png": [("car", [1, 1, 9, 9])], "b.png": []})
    document = json.loads(archive["train/_annotations.coco.json"])
    document["annotations"].append({"id": 7, "image_id": 2, "category_id": 9, "bbox": [2, 2, 5, 5]})
    archive["train/_annotations.coco.json"] = json.dumps(document).encode()
    job = jobs.start_import(zip_of(archive), "coco")
    assert job["state"] == "failed" and not TrainingImage.objects.exists()
    assert job["errors"] == [
        {"file": "train/b.png", "error": "box 7 has category 9, which the file's categories do not name"}
    ]

    yolo = {
        "data.yaml": b"names: [car, bus]\ntrain: images/train\n",
        "images/train/a.png": RED,
        "labels/train/a.txt": b"0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.1 0.1\n",
    }
    job = jobs.start_import(zip_of(yolo), "yolo")
    assert job["state"] == "failed" and not TrainingImage.objects.exists() and not DetectionTask.objects.exists()
    [error] = job["errors"]
    assert "images/train/a.png" in error["error"] and "class_id 5" in error["error"]
