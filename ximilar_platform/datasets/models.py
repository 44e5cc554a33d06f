"""A dataset import or export: a job on the default queue, its progress and its per-file errors."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.jobs import Job
from ximilar_platform.core.models import TaskKind, WorkspaceOwned
from ximilar_platform.images import storage
from ximilar_platform.notifications import events
from ximilar_platform.notifications.services import notify

USER = settings.AUTH_USER_MODEL


class DatasetJob(WorkspaceOwned, Job):
    """An archive read into a task (``import``) or a task written as an archive (``export``)."""

    class Direction(models.TextChoices):
        IMPORT = "import"
        EXPORT = "export"

    runner = "datasets"
    noun = "dataset job"
    lost_worker = "The worker reading or writing this dataset stopped responding."

    direction = models.CharField(max_length=8, choices=Direction.choices)
    format = models.CharField(max_length=16)
    task_kind = models.CharField(max_length=16, choices=TaskKind.choices, blank=True, default="")
    task_id = models.UUIDField(null=True, blank=True, help_text="The task exported, or imported into (or created).")
    name = models.CharField(max_length=255, blank=True, default="", help_text="The archive's name: a new task's.")
    upload = models.CharField(max_length=255, blank=True, default="", help_text="The uploaded archive in storage.")
    url = models.URLField(max_length=2000, blank=True, default="", help_text="Where the archive is downloaded from.")
    archive = models.CharField(max_length=255, blank=True, default="", help_text="The exported archive in storage.")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text='Per file: [{"file", "error"}].')
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created", "id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.format} ({self.state})"

    def succeed(self, **fields: object) -> bool:
        with transaction.atomic():
            succeeded = super().succeed(**fields)
            if succeeded:
                self._announce()
        self.drop_upload()
        return succeeded

    def fail(self, error: str) -> bool:
        with transaction.atomic():
            failed = super().fail(error)
            if failed:
                self._announce()
        self.drop_upload()
        return failed

    def cancel(self, *, by: str) -> bool:
        cancelled = super().cancel(by=by)
        self.drop_upload()
        return cancelled

    def _announce(self) -> None:
        """Tell the workspace's webhooks the job ended (``dataset.import.done``, ``dataset.export.done``)."""
        event = events.DATASET_IMPORT_DONE if self.direction == self.Direction.IMPORT else events.DATASET_EXPORT_DONE
        payload = {
            "job": str(self.pk),
            "format": self.format,
            "state": self.state,
            "task": {"id": str(self.task_id), "kind": self.task_kind} if self.task_id else None,
            "images": self.total,
            "error": self.error,
            "errors": len(self.errors),
        }
        workspace = Workspace.objects.select_related("owner").get(pk=self.workspace_id)
        notify(workspace=workspace, event=event, payload=payload, user=self.created_by)

    def drop_upload(self) -> None:
        """An ended import needs its uploaded archive no more; a retried one (``retry``) still does."""
        if self.upload and self.state not in self.ACTIVE:
            name = self.upload
            transaction.on_commit(lambda: storage.delete_files([name]))
