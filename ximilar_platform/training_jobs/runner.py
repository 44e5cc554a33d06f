"""A training job in a worker: claim it, train through the kind's adapter, publish and record the version.

The artifact's files are stored before the ``ModelVersion`` row exists, and the job succeeds in
the transaction that deploys the version, so no reader sees TRAINED before the new production
version, and no half-written version ever becomes visible.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from ximilar_platform.core.jobs import Heartbeat, failure_of, worker_name
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob
from ximilar_platform.training_jobs.services import deploy_if_not_worse

if TYPE_CHECKING:
    from training.spec import Progress, TrainingResult

logger = logging.getLogger(__name__)


def run_training_job(*, job_id: str) -> None:
    """Train one job. A job that is not pending (redelivered message, already failed) is left alone."""
    from training.spec import TrainingError

    job = TrainingJob.objects.filter(id=job_id).first()
    if job is None or not job.start(worker=worker_name()):
        return
    adapter = adapter_for(job.task_kind)
    try:
        work_root = settings.DATA_DIR / "training"  # datasets and runs can be large: not the system /tmp
        work_root.mkdir(parents=True, exist_ok=True)
        with Heartbeat(job), tempfile.TemporaryDirectory(prefix=f"{job.id}-", dir=work_root) as work:
            task = adapter.task_model.objects.get(id=job.task_id)
            result = adapter.train(task, Path(work), partial(report, job), partial(record_early_version, job))
            version = record_version(job=job, result=result)
    except Exception as error:  # any failure must end the job, never leave it running
        if isinstance(error, TrainingStopped):
            logger.info("Training job %s stopped: it no longer runs", job.id)
            return
        if not isinstance(error, TrainingError):
            logger.exception("Training job %s failed", job.id)
        job.fail(failure_of(error))
        return
    with transaction.atomic():  # a job cancelled at the last moment keeps its version, undeployed
        if job.succeed(version=version):
            deploy_if_not_worse(version)


class TrainingStopped(Exception):
    """The job was cancelled (or failed by the sweep) while it trained: stop at this epoch."""


def report(job: TrainingJob, progress: Progress) -> None:
    """Save an epoch's progress; a job that no longer runs stops here (the trainer's callback raises)."""
    if not job.report(progress=asdict(progress)):
        raise TrainingStopped(f"Training job {job.id} no longer runs.")


def record_early_version(job: TrainingJob, result: TrainingResult) -> None:
    """A version the trainer published before its last (a quick first model): record it and deploy it
    by the usual rule, so it answers while the job goes on; the job's own version is its last."""
    if not TrainingJob.objects.filter(pk=job.pk, state=TrainingJob.State.RUNNING).exists():
        raise TrainingStopped(f"Training job {job.id} no longer runs.")
    deploy_if_not_worse(record_version(job=job, result=result))


def record_version(*, job: TrainingJob, result: TrainingResult) -> ModelVersion:
    """Publish the artifact, then record version n+1; the row appears only when every file is stored."""
    prefix = f"artifacts/{job.workspace_id}/{uuid.uuid4().hex}"
    names = artifacts.publish(Path(result.artifact_dir), prefix)
    manifest = json.loads((Path(result.artifact_dir) / "manifest.json").read_text())
    try:
        with transaction.atomic():
            adapter_for(job.task_kind).task_model.objects.select_for_update().filter(id=job.task_id).first()
            last = ModelVersion.objects.filter(task_kind=job.task_kind, task_id=job.task_id).order_by("-version")
            number = (last.values_list("version", flat=True).first() or 0) + 1
            return ModelVersion.objects.create(
                workspace_id=job.workspace_id,
                task_kind=job.task_kind,
                task_id=job.task_id,
                version=number,
                arch=manifest["arch"],
                artifact=prefix,
                files=names,
                metrics=result.metrics,
                manifest=manifest,
                data_hash=result.data_hash,
                data_size=result.train_size + result.validation_size + result.test_size,
                training_seconds=result.seconds,
            )
    except Exception:
        artifacts.remove(names)
        raise
