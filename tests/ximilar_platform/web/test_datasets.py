"""The web app's dataset buttons: a task exported as a format, a zip imported from the tasks list."""

from __future__ import annotations

import io

from tests.factories import image_bytes
from tests.ximilar_platform.datasets.conftest import add_image, files_of, zip_of
from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.recognition.models import Task


def test_a_task_page_exports_as_each_of_its_formats_and_the_job_page_downloads_it(
    web, alice, bob_web, django_capture_on_commit_callbacks
) -> None:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="street")
    car = DetectionLabel.objects.create(workspace=alice.workspace, name="car")
    task.labels.add(car)
    DetectionObject.objects.create(
        workspace=alice.workspace, image=add_image(alice, 0), detection_label=car, data=[1, 1, 9, 9]
    )
    page = web.get(f"/app/detection/{task.id}/").content.decode()
    for title in (
        "Export as COCO",
        "Export as YOLO (Ultralytics)",
        "Export as Pascal VOC",
        "Export as JSON (lossless)",
    ):
        assert title in page
    assert "Export as Class folders" not in page
    with django_capture_on_commit_callbacks(execute=True):
        answer = web.post(f"/app/detection/{task.id}/export/", {"format": "yolo"})
    job = DatasetJob.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/app/datasets/jobs/{job.id}/"
    shown = web.get(answer["Location"]).content.decode()
    assert "Export as YOLO" in shown and "Download the zip" in shown
    download = web.get(f"/app/datasets/jobs/{job.id}/download/")
    files = files_of(b"".join(download.streaming_content))
    assert "data.yaml" in files and any(name.startswith("labels/train/") for name in files)
    assert bob_web.get(f"/app/datasets/jobs/{job.id}/").status_code == 404
    assert bob_web.get(f"/app/datasets/jobs/{job.id}/download/").status_code == 404


def test_the_tasks_list_imports_a_zip_into_a_new_task_and_shows_what_was_wrong(
    web, alice, django_capture_on_commit_callbacks
) -> None:
    assert "Import dataset" in web.get("/app/").content.decode()
    archive = zip_of({"cat/a.png": image_bytes((200, 0, 0)), "dog/b.png": image_bytes((0, 200, 0))})
    upload = io.BytesIO(archive)
    upload.name = "pets.zip"
    with django_capture_on_commit_callbacks(execute=True):
        answer = web.post("/app/datasets/import/", {"file": upload, "format": "class_folders"})
    task = Task.objects.get(workspace=alice.workspace)
    assert task.name == "pets" and sorted(task.labels.values_list("name", flat=True)) == ["cat", "dog"]
    assert f"/app/recognition/{task.id}/" in web.get(answer["Location"]).content.decode()
    broken = io.BytesIO(zip_of({"cat/c.png": b"not a png"}))
    broken.name = "broken.zip"
    with django_capture_on_commit_callbacks(execute=True):
        answer = web.post("/app/datasets/import/", {"file": broken, "format": "class_folders"})
    shown = web.get(answer["Location"]).content.decode()
    assert "The import failed." in shown and "cat/c.png" in shown and "unreadable image" in shown
    refused = web.post("/app/datasets/import/", {"format": "class_folders"}, follow=True)
    assert "Send the zip as file" in refused.content.decode()


def test_a_waiting_import_is_cancelled_from_its_page(web, alice, bob_web, django_capture_on_commit_callbacks) -> None:
    upload = io.BytesIO(zip_of({"cat/a.png": image_bytes((200, 0, 0))}))
    upload.name = "pets.zip"
    answer = web.post("/app/datasets/import/", {"file": upload, "format": "class_folders"})  # no worker took it yet
    job = DatasetJob.objects.get()
    page = web.get(answer["Location"]).content.decode()
    assert "Waiting for a worker" in page and "Cancel import" in page
    assert bob_web.post(f"/app/datasets/jobs/{job.id}/cancel/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = web.post(f"/app/datasets/jobs/{job.id}/cancel/", follow=True).content.decode()
    assert "Import cancelled; nothing was kept." in cancelled and "Cancelled by alice." in cancelled
    assert "Cancel import" not in cancelled and "failed" not in cancelled
    job.refresh_from_db()
    assert job.state == "cancelled" and not Task.objects.exists()
    again = web.post(f"/app/datasets/jobs/{job.id}/cancel/", follow=True).content.decode()
    assert "This import already ended (cancelled)." in again
