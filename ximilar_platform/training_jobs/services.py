"""The training-job lifecycle shared by every task kind.

A kind's adapter module (``ADAPTERS``) knows its data rules and rows: it names its task model
(``TASK_MODEL``, with ``production_version`` and ``last_train_status``), trains a job
(``train``) and says which validation metric decides a deploy (``deploy_metric``). This module
claims the job, keeps a heartbeat, calls the pure ``training`` library through the adapter,
publishes the artifact, records the version and deploys it, or fails the job with a message
the API shows.
"""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import threading
import uuid
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.module_loading import import_module

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob, TrainStatus

if TYPE_CHECKING:
    from training.spec import TrainingResult

logger = logging.getLogger(__name__)

ADAPTERS = {
    "recognition": "ximilar_platform.recognition.training",
    "detection": "ximilar_platform.detection.training",
    "similarity": "ximilar_platform.similarity.training",
}
LOST_WORKER = "The worker running this training stopped responding (killed or lost); start the training again."


def adapter(kind: str) -> ModuleType:
    return import_module(ADAPTERS[kind])


def enqueue_training(*, workspace: Workspace, task_kind: str, task_id: uuid.UUID) -> TrainingJob:
    """Create a pending job and send it to the ``training`` queue once the transaction commits.

    The caller holds a row lock on the task, so two concurrent requests cannot both pass the
    "nothing active" check.
    """
    from ximilar_platform.training_jobs.jobs import run_training_job

    fail_stale_jobs()
    if TrainingJob.objects.filter(task_kind=task_kind, task_id=task_id, state__in=TrainingJob.ACTIVE).exists():
        raise Conflict("A training of this task is already waiting or running.")
    job = TrainingJob.objects.create(workspace=workspace, task_kind=task_kind, task_id=task_id)
    transaction.on_commit(lambda: _send(job, run_training_job))
    return job


def _send(job: TrainingJob, sender) -> None:
    """Queue the job; when the broker cannot take it, fail it rather than leave it pending forever."""
    try:
        sender.apply_async((str(job.id),), queue=settings.TRAINING_QUEUE)
    except Exception as error:  # kombu raises its own and socket errors once its retries are spent
        logger.exception("Training job %s could not be queued", job.id)
        job.fail(f"The training could not be queued (message broker unreachable: {error}); try again later.")
        set_train_status(job, TrainStatus.FAILED)


@transaction.atomic
def start_training(*, task: models.Model, kind: str) -> TrainingJob:
    """Check the kind's data rules under the task's row lock, queue a job and mark the task WAITING."""
    task = task_model(kind).objects.select_for_update().get(pk=task.pk)
    adapter(kind).check_training_data(task)
    job = enqueue_training(workspace=task.workspace, task_kind=kind, task_id=task.id)
    task.last_train_status = TrainStatus.WAITING
    task.save(update_fields=["last_train_status"])
    return job


class Heartbeat:
    """Marks the job alive from a thread, so a long epoch is not mistaken for a dead worker."""

    def __init__(self, job: TrainingJob) -> None:
        self.job, self.stop = job, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(settings.TRAINING_HEARTBEAT_SECONDS):
            self.job.beat()
        connection.close()

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def run_training_job(*, job_id: str) -> None:
    """Train one job. A job that is not pending (redelivered message, already failed) is left alone."""
    from training.spec import TrainingError

    job = TrainingJob.objects.filter(id=job_id).first()
    if job is None or not job.start(worker=socket.gethostname()):
        return
    kind = adapter(job.task_kind)
    set_train_status(job, TrainStatus.IN_TRAINING)
    try:
        work_root = settings.DATA_DIR / "training"  # datasets and runs can be large: not the system /tmp
        work_root.mkdir(parents=True, exist_ok=True)
        with Heartbeat(job), tempfile.TemporaryDirectory(prefix=f"{job.id}-", dir=work_root) as work:
            result = kind.train(job=job, work_dir=Path(work), on_progress=lambda p: job.report(asdict(p)))
            version = record_version(job=job, result=result)
    except Exception as error:  # any failure must end the job, never leave it running
        if not isinstance(error, TrainingError):
            logger.exception("Training job %s failed", job.id)
        job.fail(str(error) or type(error).__name__)
        set_train_status(job, TrainStatus.FAILED)
        return
    job.finish(version)
    deploy_if_not_worse(version)


def record_version(*, job: TrainingJob, result: TrainingResult) -> ModelVersion:
    """Publish the artifact, then record version n+1; the row appears only when every file is stored."""
    prefix = f"artifacts/{job.workspace_id}/{uuid.uuid4().hex}"
    names = artifacts.publish(Path(result.artifact_dir), prefix)
    manifest = json.loads((Path(result.artifact_dir) / "manifest.json").read_text())
    try:
        with transaction.atomic():
            task_model(job.task_kind).objects.select_for_update().filter(id=job.task_id).first()
            last = ModelVersion.objects.filter(task_kind=job.task_kind, task_id=job.task_id).order_by("-version")
            number = (last.values_list("version", flat=True).first() or 0) + 1
            return ModelVersion.objects.create(
                workspace_id=job.workspace_id, task_kind=job.task_kind, task_id=job.task_id, version=number,
                arch=manifest["arch"], artifact=prefix, files=names, metrics=result.metrics, manifest=manifest,
                data_hash=result.data_hash, data_size=result.train_size + result.validation_size + result.test_size,
                training_seconds=result.seconds,
            )
    except Exception:
        artifacts.remove(names)
        raise


def task_model(kind: str) -> type[models.Model]:
    return adapter(kind).TASK_MODEL


def set_train_status(job: TrainingJob, status: str) -> None:
    task_model(job.task_kind).objects.filter(id=job.task_id).update(last_train_status=status)


def deploy_if_not_worse(version: ModelVersion) -> None:
    """Deploy the first version, and a retrained one whose validation metric is not worse.

    Ximilar deploys "the new, better and more accurate, version" after a retraining (seed 002),
    and pollers wait for ``production_version`` to grow; a worse version waits for a manual
    deploy (``PATCH production_version``).
    """
    with transaction.atomic():
        task = task_model(version.task_kind).objects.select_for_update().get(id=version.task_id)
        task.last_train_status = TrainStatus.TRAINED
        current = ModelVersion.objects.filter(
            task_kind=version.task_kind, task_id=task.id, version=task.production_version
        ).first()
        name, sign = adapter(version.task_kind).deploy_metric(task)
        new, old = version.metrics.get(name), current.metrics.get(name) if current else None
        if current is None or new is None or old is None or sign * new >= sign * old:
            task.production_version = version.version
            deployed(version.task_kind, task)
        task.save(update_fields=["last_train_status", "production_version"])


def deployed(kind: str, task: models.Model) -> None:
    """Tell the kind a new production version was set, once the transaction commits (``on_deploy``)."""
    hook = getattr(adapter(kind), "on_deploy", None)
    if hook is not None:
        transaction.on_commit(lambda: hook(task.pk))


def fail_stale_jobs() -> int:
    """Fail running jobs whose heartbeat stopped: their worker was killed or its machine lost."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER)
    stale = list(TrainingJob.objects.filter(state=TrainingJob.State.RUNNING, heartbeat__lt=cutoff))
    for job in stale:
        job.fail(LOST_WORKER)
        set_train_status(job, TrainStatus.FAILED)
    return len(stale)


def delete_version(*, version: ModelVersion) -> None:
    names = list(version.files)
    version.delete()
    transaction.on_commit(lambda: artifacts.remove(names))
