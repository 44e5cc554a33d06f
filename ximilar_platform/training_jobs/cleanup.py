"""What a deleted task leaves behind: its training jobs, its versions, their files in storage and traffic counts.

Versions and jobs name their task by kind and id (no foreign key: one table serves every kind), so
the database cannot cascade; this does, for every kind whose adapter registers.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ximilar_platform import daily_counts
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob, VersionTraffic


def forget_task(sender: type, instance: Any, **_: Any) -> None:
    """``post_delete`` of a task: its jobs and versions go now, the versions' files once that commits."""
    versions = ModelVersion.objects.filter(task_kind=instance.task_kind, task_id=instance.id)
    names = [name for files in versions.values_list("files", flat=True) for name in files]
    TrainingJob.objects.filter(task_kind=instance.task_kind, task_id=instance.id).delete()
    daily_counts.flush()  # this process's pending counts of the task go with its rows
    VersionTraffic.objects.filter(task_kind=instance.task_kind, task_id=instance.id).delete()
    versions.delete()
    if names:
        transaction.on_commit(lambda: artifacts.remove(names))
