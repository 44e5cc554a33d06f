"""Cancelling a dataset job: a pending one never runs, a running one stops with nothing kept."""

from __future__ import annotations

import io
from pathlib import Path

from tests.ximilar_platform.datasets.conftest import zip_of
from tests.ximilar_platform.datasets.test_imports import GREEN, RED, coco, stored_files
from ximilar_platform.datasets import services
from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.detection.models import DetectionTask
from ximilar_platform.images.models import TrainingImage

ARCHIVE = zip_of(coco({"a.png": RED, "b.png": GREEN}, {"a.png": [("car", [1, 1, 9, 9])], "b.png": []}))


def upload(client, name: str = "cars.zip") -> dict:
    body = {"file": io.BytesIO(ARCHIVE), "format": "coco"}
    body["file"].name = name
    answer = client.post("/datasets/v2/import", body, format="multipart")
    assert answer.status_code == 202, answer.json()
    return answer.json()


def test_a_pending_import_cancelled_never_runs_and_its_upload_goes(
    alice, bob, media_root: Path, django_capture_on_commit_callbacks
) -> None:
    job = upload(alice.client)  # its message waits: on-commit callbacks do not run here
    stored = DatasetJob.objects.get(pk=job["id"]).upload
    assert (media_root / stored).is_file()
    assert bob.client.post(f"/datasets/v2/job/{job['id']}/cancel").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        answer = alice.client.post(f"/datasets/v2/job/{job['id']}/cancel")
    assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
    assert not (media_root / stored).exists()
    services.run_dataset_job(job_id=job["id"])  # the message arrives after all: nothing happens
    assert DatasetJob.objects.get(pk=job["id"]).state == "cancelled" and not TrainingImage.objects.exists()
    again = alice.client.post(f"/datasets/v2/job/{job['id']}/cancel")
    assert again.status_code == 409 and "already ended (cancelled)" in again.json()["detail"]
    assert alice.client.post("/datasets/v2/job", {}, format="json").status_code == 405


def test_a_running_import_cancelled_stops_and_keeps_nothing(
    alice, media_root: Path, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    real = services.progress_of

    def cancelled_at_first_report(job: DatasetJob):
        report = real(job)

        def on_progress(done: int, total: int) -> bool:
            DatasetJob.objects.get(pk=job.pk).cancel(by="alice")  # the user's click, from another process
            return report(done, total)

        return on_progress

    monkeypatch.setattr(services, "progress_of", cancelled_at_first_report)
    with django_capture_on_commit_callbacks(execute=True):
        job = upload(alice.client)
    ended = alice.client.get(f"/datasets/v2/job/{job['id']}").json()
    assert ended["state"] == "cancelled" and ended["error"] == "Cancelled by alice."
    assert not TrainingImage.objects.exists() and not DetectionTask.objects.exists()
    assert stored_files(media_root) == [] and not list((media_root / "datasets").rglob("*.zip"))


def test_an_export_cancelled_after_its_zip_was_written_leaves_no_zip(
    alice, boxes, media_root: Path, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    real = services.run_export

    def cancelled_while_saving(job: DatasetJob, work: Path) -> dict:
        fields = real(job, work)
        DatasetJob.objects.get(pk=job.pk).cancel(by="alice")
        return fields

    monkeypatch.setattr(services, "run_export", cancelled_while_saving)
    with django_capture_on_commit_callbacks(execute=True):
        answer = alice.client.post("/datasets/v2/export", {"task": str(boxes.id), "format": "coco"}, format="json")
    ended = alice.client.get(f"/datasets/v2/job/{answer.json()['id']}").json()
    assert ended["state"] == "cancelled" and ended["download_url"] is None
    assert not list((media_root / "datasets").rglob("*.zip"))


def test_an_import_cancelled_while_it_was_stored_is_kept_and_says_so(
    alice, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    real = services.run_import

    def cancelled_while_committing(job: DatasetJob, work: Path) -> dict:
        fields = real(job, work)
        DatasetJob.objects.get(pk=job.pk).cancel(by="alice")
        return fields

    monkeypatch.setattr(services, "run_import", cancelled_while_committing)
    with django_capture_on_commit_callbacks(execute=True):
        job = upload(alice.client)
    ended = alice.client.get(f"/datasets/v2/job/{job['id']}").json()
    assert ended["state"] == "cancelled" and "already been stored in the task; it was kept" in ended["error"]
    assert ended["task"] == str(DetectionTask.objects.get().id) and TrainingImage.objects.count() == 2
