"""Training runs and the immutable model versions they produce."""

from __future__ import annotations

import logging

from django.db import DatabaseError, models
from django.utils import timezone

from ximilar_platform.core.models import WorkspaceOwned

logger = logging.getLogger(__name__)


class TaskKind(models.TextChoices):
    RECOGNITION = "recognition"
    DETECTION = "detection"
    SIMILARITY = "similarity"


class TrainStatus(models.TextChoices):
    """A task's ``last_train_status``, following its newest training job."""

    NOT_TRAINED = "NOT_TRAINED"
    WAITING = "WAITING"
    IN_TRAINING = "IN_TRAINING"
    TRAINED = "TRAINED"
    FAILED = "FAILED"


class TrainingJob(WorkspaceOwned):
    """One training run. State changes go through the methods, which guard the lifecycle."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    task_kind = models.CharField(max_length=16, choices=TaskKind.choices, default=TaskKind.RECOGNITION)
    task_id = models.UUIDField(db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    progress = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="")
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    version = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created", "id"]

    ACTIVE = (State.PENDING, State.RUNNING)

    def start(self, *, worker: str) -> bool:
        """Claim a pending job; False when it is not pending (a redelivered message does nothing)."""
        now = timezone.now()
        claimed = TrainingJob.objects.filter(pk=self.pk, state=self.State.PENDING).update(
            state=self.State.RUNNING, started=now, heartbeat=now, worker=worker
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def report(self, progress: dict) -> None:
        TrainingJob.objects.filter(pk=self.pk, state=self.State.RUNNING).update(
            progress=progress, heartbeat=timezone.now()
        )

    def beat(self) -> None:
        try:
            TrainingJob.objects.filter(pk=self.pk, state=self.State.RUNNING).update(heartbeat=timezone.now())
        except DatabaseError:  # a busy database must not stop the training; the next beat retries
            logger.warning("Heartbeat of training job %s failed", self.pk, exc_info=True)

    def finish(self, version: ModelVersion) -> None:
        self._end(self.State.SUCCEEDED, version=version)

    def fail(self, error: str) -> None:
        self._end(self.State.FAILED, error=error[:10000])

    def _end(self, state: str, **fields: object) -> None:
        fields.update(state=state, finished=timezone.now())
        TrainingJob.objects.filter(pk=self.pk).update(**fields)
        self.refresh_from_db()


class ModelVersion(WorkspaceOwned):
    """A trained model: an artifact directory in storage plus its manifest's metrics. Never changes."""

    task_kind = models.CharField(max_length=16, choices=TaskKind.choices, default=TaskKind.RECOGNITION)
    task_id = models.UUIDField(db_index=True)
    version = models.PositiveIntegerField()
    arch = models.CharField(max_length=64)
    artifact = models.CharField(max_length=255, help_text="Storage prefix of the artifact directory.")
    files = models.JSONField(default=list)
    metrics = models.JSONField(default=dict)
    manifest = models.JSONField(default=dict)
    data_hash = models.CharField(max_length=64, blank=True, default="")
    data_size = models.PositiveIntegerField(default=0)
    training_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["task_id", "version"]
        constraints = [models.UniqueConstraint(fields=["task_kind", "task_id", "version"], name="unique_version")]
