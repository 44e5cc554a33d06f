"""Training runs and the immutable model versions they produce."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.jobs import Job
from ximilar_platform.core.models import TaskKind, WorkspaceOwned


class TrainStatus(models.TextChoices):
    """A task's ``last_train_status``: what its newest training job is doing (``training_jobs.status``)."""

    NOT_TRAINED = "NOT_TRAINED"
    WAITING = "WAITING"
    IN_TRAINING = "IN_TRAINING"
    TRAINED = "TRAINED"
    FAILED = "FAILED"


class TrainingJob(WorkspaceOwned, Job):
    """One training run of a task of any kind; its lifecycle is `core.jobs.Job`'s."""

    runner = "training"
    noun = "training"
    lost_worker = "The worker running this training stopped responding (killed or lost); start the training again."

    task_kind = models.CharField(max_length=16, choices=TaskKind.choices, default=TaskKind.RECOGNITION)
    task_id = models.UUIDField(db_index=True)
    progress = models.JSONField(default=dict, blank=True)
    version = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created", "id"]

    def __str__(self) -> str:
        return f"{self.task_kind} {self.task_id} ({self.state})"


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

    def __str__(self) -> str:
        return f"{self.task_kind} {self.task_id} v{self.version}"
