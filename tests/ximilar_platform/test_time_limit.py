"""Celery's soft time limit on a real prefork worker (issue 12, item 5): a training that runs past
TRAINING_TIME_LIMIT is stopped and fails saying so, and the worker goes on to the next job."""

from __future__ import annotations

import time

from tests.ximilar_platform.conftest import worker_log


def test_a_training_past_the_time_limit_fails_saying_so(start_worker, alice, settings, monkeypatch) -> None:
    from tests.ximilar_platform.recognition.test_training import make_task
    from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob

    settings.TRAINING_MIN_IMAGES_PER_LABEL = 4
    task, _ = make_task(alice.client, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    worker = start_worker(
        pool="prefork",
        # Celery's soft limit is an exception raised wherever the job is: 25 s lets the job's imports
        # (torch, a few s) end first, since a library that guards an import with `except Exception`
        # would swallow it there; 3000 epochs of 8 images then run far longer than 25 s
        TRAINING_TIME_LIMIT="25",
        TRAINING_MIN_IMAGES_PER_LABEL="4",
        TRAINING_ARCH="resnet18",
        TRAINING_IMAGE_SIZE="32",
        TRAINING_EPOCHS="3000",
        TRAINING_QUICK_FIRST_VERSION="false",
        TORCH_THREADS="1",
    )
    from ximilar_platform.core.jobs import run_job

    # The limits travel in the message, from the sender's task (Celery caches its options on first send):
    # this process sends the job, so it gets the worker's TRAINING_TIME_LIMIT too, as every process should
    run_job._get_exec_options()  # cached, as after any earlier send in this process
    monkeypatch.setattr(run_job, "soft_time_limit", 25)
    monkeypatch.setattr(run_job, "time_limit", 25 + 120)
    monkeypatch.setattr(run_job, "_exec_options", None)
    assert alice.client.post(f"/recognition/v2/task/{task['id']}/train").status_code == 202
    job = TrainingJob.objects.get()
    deadline = time.monotonic() + 150
    while job.state in ("pending", "running") and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.3)
        job.refresh_from_db()
    assert job.state == "failed", job.state + worker_log(worker)
    assert "ran longer than TRAINING_TIME_LIMIT (25 s) and was stopped" in job.error, job.error
    assert job.finished is not None and job.started is not None
    assert (job.finished - job.started).total_seconds() < 60  # the soft limit, not the hard one (+120 s)
    assert not ModelVersion.objects.filter(task_id=task["id"]).exists()
    assert worker.poll() is None, "the worker lives on for the next job"
