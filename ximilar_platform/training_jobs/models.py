"""Training runs and the immutable model versions they produce."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.jobs import Job
from ximilar_platform.core.models import TaskKind, WorkspaceOwned
from ximilar_platform.notifications import events
from ximilar_platform.notifications.services import notify


class TrainStatus(models.TextChoices):
    """A task's ``last_train_status``: what its newest training job is doing (``training_jobs.status``)."""

    NOT_TRAINED = "NOT_TRAINED"
    WAITING = "WAITING"
    IN_TRAINING = "IN_TRAINING"
    TRAINED = "TRAINED"
    FAILED = "FAILED"


class TrainingJob(WorkspaceOwned, Job):
    """One training run of a task of any kind; its lifecycle is `core.jobs.Job`'s.

    Its start, success and failure are events (`notifications.services.notify`), recorded in the
    transaction of the change, so a rolled-back claim or end sends nothing.
    """

    runner = "training"
    noun = "training"
    lost_worker = "The worker running this training stopped responding (killed or lost); start the training again."

    task_kind = models.CharField(max_length=16, choices=TaskKind.choices, default=TaskKind.RECOGNITION)
    task_id = models.UUIDField(db_index=True)
    progress = models.JSONField(default=dict, blank=True)
    version = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    held = models.BooleanField(
        default=False, help_text="Pending until a running training of the workspace ends (its turn comes)."
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for the training: its emails go to them (else to the workspace's owner).",
    )

    class Meta:
        ordering = ["-created", "id"]

    def __str__(self) -> str:
        return f"{self.task_kind} {self.task_id} ({self.state})"

    def start(self, *, worker: str, **fields: Any) -> bool:
        """Claim the job, unless the workspace runs ``TRAINING_MAX_ACTIVE_PER_WORKSPACE`` trainings already.

        Then the job waits, held: the end of a running one sends it again (`_release_next`), and the
        sweep's re-send after ``JOB_RESEND_AFTER`` is the fallback; its send count starts again, since
        a worker did see it. The workspace's row lock makes two workers decide one after the other.
        """
        with transaction.atomic():
            if self._workspace_full():
                self._update((self.State.PENDING,), held=True, sends=0, sent=timezone.now())
                self.refresh_from_db()
                return False
            started = super().start(worker=worker, held=False, **fields)
            if started:
                self._announce(events.TRAINING_STARTED)
            return started

    def _workspace_full(self) -> bool:
        limit = settings.TRAINING_MAX_ACTIVE_PER_WORKSPACE
        if not limit:
            return False
        list(Workspace.objects.select_for_update().filter(pk=self.workspace_id).values_list("pk", flat=True))
        running = TrainingJob.objects.filter(workspace_id=self.workspace_id, state=self.State.RUNNING)
        return running.exclude(pk=self.pk).count() >= limit

    def succeed(self, **fields: Any) -> bool:
        with transaction.atomic():
            succeeded = super().succeed(**fields)
            if succeeded:
                self._announce(events.TRAINING_SUCCEEDED)
        return self._release_next(succeeded)

    def fail(self, error: str) -> bool:
        with transaction.atomic():
            failed = super().fail(error)
            if failed:
                self._announce(events.TRAINING_FAILED)
        return self._release_next(failed)

    def cancel(self, *, by: str) -> bool:
        return self._release_next(super().cancel(by=by))

    def _announce(self, event: str) -> None:
        """Tell the workspace's webhooks and whoever started the training, in the transaction of the change."""
        from ximilar_platform.training_jobs.adapters import adapter_for  # adapters import this module

        task = adapter_for(self.task_kind).task_model.objects.filter(id=self.task_id).values_list("name").first()
        payload: dict[str, Any] = {
            "job": str(self.pk),
            "task": {"id": str(self.task_id), "kind": self.task_kind, "name": task[0] if task else None},
            "state": self.state,
            "attempt": self.attempt,
        }
        if event == events.TRAINING_SUCCEEDED and self.version is not None:
            payload["version"] = {"number": self.version.version, "metrics": self.version.metrics}
        if event == events.TRAINING_FAILED:
            payload["error"] = self.error
        workspace = Workspace.objects.select_related("owner").get(pk=self.workspace_id)
        notify(workspace=workspace, event=event, payload=payload, user=self.started_by)

    def _release_next(self, ended: bool) -> bool:
        """A training that ended frees its slot: send the workspace's oldest held job, after commit."""
        if ended:
            transaction.on_commit(partial(send_next_held, self.workspace_id))
        return ended


def send_next_held(workspace_id: uuid.UUID) -> None:
    waiting = TrainingJob.objects.filter(workspace_id=workspace_id, state=TrainingJob.State.PENDING, held=True)
    if job := waiting.order_by("created", "id").first():
        job._send()


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


class VersionTraffic(WorkspaceOwned):
    """The records one version of a task predicted on one UTC day, and their confidences' sum.

    ``scored`` counts the records that have a confidence (a classify's best label, a detect that
    found objects), so the mean is ``confidence_sum / scored``. Rows only ever grow, by F() updates.
    """

    task_kind = models.CharField(max_length=16, choices=TaskKind.choices)
    task_id = models.UUIDField()
    version = models.PositiveIntegerField()
    day = models.DateField()
    records = models.PositiveIntegerField(default=0)
    scored = models.PositiveIntegerField(default=0)
    confidence_sum = models.FloatField(default=0)

    class Meta:
        ordering = ["task_id", "-day", "version"]
        constraints = [
            models.UniqueConstraint(fields=["task_kind", "task_id", "version", "day"], name="unique_version_day")
        ]

    def __str__(self) -> str:
        return f"{self.task_kind} {self.task_id} v{self.version} on {self.day}"
