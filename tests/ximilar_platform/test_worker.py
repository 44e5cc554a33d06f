"""A real Celery worker process picks up a job the API enqueued: on the embedded broker and on Redis."""

from __future__ import annotations

import time

import pytest

from tests.conftest import need
from tests.factories import image_base64
from tests.ximilar_platform.conftest import redis_available, worker_log


@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_worker_process_deletes_files_of_a_deleted_image(start_worker, alice, media_root, broker: str) -> None:
    if broker == "redis":
        need(redis_available(), "no Redis at REDIS_URL")
    worker = start_worker(broker)
    image = alice.client.post("/recognition/v2/training-image", {"base64": image_base64()}, format="json").json()
    files = [path for path in media_root.rglob("*") if path.is_file()]
    assert len(files) == 2
    assert alice.client.delete(f"/recognition/v2/training-image/{image['id']}").status_code == 204
    deadline = time.monotonic() + 60
    while any(path.exists() for path in files) and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
    assert not any(path.exists() for path in files), "the worker did not delete the files:\n" + worker_log(worker)


def test_a_training_whose_worker_is_killed_finishes_on_another_worker(start_worker, alice, settings) -> None:
    """The machine of the first worker is lost mid-job: the second worker's sweep sends the job again."""
    from tests.ximilar_platform.recognition.test_training import make_task
    from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob

    quick = {
        "TRAINING_STALE_AFTER": "3",
        "JOB_SWEEP_SECONDS": "1",
        "TRAINING_HEARTBEAT_SECONDS": "0.5",
        "TRAINING_MIN_IMAGES_PER_LABEL": "4",
        "TRAINING_ARCH": "resnet18",
        "TRAINING_IMAGE_SIZE": "32",
        "TRAINING_EPOCHS": "3",
        "TORCH_THREADS": "1",
    }
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 4
    task, _ = make_task(alice.client, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    first = start_worker(**quick)
    assert alice.client.post(f"/recognition/v2/task/{task['id']}/train").status_code == 202
    job = TrainingJob.objects.get()
    deadline = time.monotonic() + 120
    while job.state == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    assert job.state == "running" and job.attempt == 1, worker_log(first)
    first.kill()  # SIGKILL: no goodbye, no ack, heartbeats stop
    first.wait()
    second = start_worker(**quick)
    while job.state in ("pending", "running") and time.monotonic() < deadline + 120:
        time.sleep(0.3)
        job.refresh_from_db()
    assert job.state == "succeeded", job.error + worker_log(second)
    assert job.attempt == 2 and job.sends == 2 and ModelVersion.objects.filter(task_id=task["id"]).count() == 1
