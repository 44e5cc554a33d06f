"""Starting trainings and deploying versions, for every task kind (its adapter knows the kind).

Rules that span the task row and its jobs or versions run under the task's row lock, so two
requests (or a request and a finishing worker) never both pass a check.
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.exceptions import ValidationError

from ximilar_platform import daily_counts
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.notifications import events
from ximilar_platform.notifications.services import notify
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.adapters import adapter_for, deploy_listeners
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob, VersionTraffic


def locked(task: TrainableTask) -> TrainableTask:
    return type(task).objects.select_for_update().get(pk=task.pk)


@transaction.atomic
def start_training(*, task: TrainableTask, by: AbstractBaseUser | None = None) -> TrainingJob:
    """Check the kind's data rules, refuse while a job is active, and queue a pending job ``by`` a user."""
    task = locked(task)
    adapter_for(task.task_kind).check_training_data(task)
    jobs = TrainingJob.objects.filter(task_kind=task.task_kind, task_id=task.id)
    TrainingJob.fail_stale(jobs)  # a dead worker's job must not block the retry
    if jobs.filter(state__in=TrainingJob.ACTIVE).exists():
        raise Conflict("A training of this task is already waiting or running.")
    job = TrainingJob.objects.create(
        workspace_id=task.workspace_id, task_kind=task.task_kind, task_id=task.id, started_by=by
    )
    job.enqueue()
    return job


def cancel_training(*, job: TrainingJob, by: str) -> None:
    """Stop a waiting or running training; a job that already ended answers 409."""
    if not job.cancel(by=by):
        raise Conflict(f"This training already ended ({job.state}).")


@transaction.atomic
def deploy_version(*, task: TrainableTask, number: int) -> TrainableTask:
    """Make version ``number`` the one the task serves, then tell the kind's listeners after commit.

    A deploy ends the task's traffic split (``training_jobs.traffic``): the version chosen serves all.
    The workspace's webhooks get ``version.deployed``.
    """
    task = locked(task)
    if number == task.production_version:
        return task
    if not ModelVersion.objects.filter(task_kind=task.task_kind, task_id=task.id, version=number).exists():
        raise ValidationError({"production_version": [f"Version {number} of this task does not exist."]})
    previous, task.production_version, task.traffic = task.production_version, number, None
    task.save(update_fields=["production_version", "traffic"])
    notify(
        workspace=task.workspace,
        event=events.VERSION_DEPLOYED,
        payload={
            "task": {"id": str(task.id), "kind": task.task_kind, "name": task.name},
            "version": number,
            "previous_version": previous if previous > 0 else None,
        },
    )
    for listener in deploy_listeners(task.task_kind):
        transaction.on_commit(partial(listener, task.pk))
    return task


@transaction.atomic
def deploy_if_not_worse(version: ModelVersion) -> None:
    """Deploy the first version, and a retrained one whose validation metric is not worse.

    Ximilar deploys "the new, better and more accurate, version" after a retraining (seed 002),
    and pollers wait for ``production_version`` to grow; a worse version waits for a manual
    deploy (``PATCH production_version``).
    """
    task = adapter_for(version.task_kind).task_model.objects.select_for_update().get(id=version.task_id)
    current = ModelVersion.objects.filter(
        task_kind=version.task_kind, task_id=task.id, version=task.production_version
    ).first()
    name, sign = adapter_for(version.task_kind).deploy_metric(task)
    new, old = version.metrics.get(name), current.metrics.get(name) if current else None
    if current is None or new is None or old is None or sign * new >= sign * old:
        deploy_version(task=task, number=version.version)


@transaction.atomic
def delete_version(*, version: ModelVersion) -> None:
    """Delete a version that is not in production nor in a traffic split; its files go once the transaction commits.

    Its traffic counts go too: a later training may get its number again.
    """
    task = adapter_for(version.task_kind).task_model.objects.select_for_update().filter(id=version.task_id).first()
    if task and task.production_version == version.version:
        raise ValidationError("This version is in production; deploy another version before deleting it.")
    if task and str(version.version) in (task.traffic or {}):
        raise ValidationError("This version serves part of the task's traffic; end the split before deleting it.")
    names = list(version.files)
    daily_counts.flush()  # this process's pending counts of the version go with its rows
    counts = VersionTraffic.objects.filter(task_kind=version.task_kind, task_id=version.task_id)
    counts.filter(version=version.version).delete()
    version.delete()
    transaction.on_commit(lambda: artifacts.remove(names))
