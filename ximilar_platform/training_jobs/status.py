"""A task's ``last_train_status``, read from its newest training job rather than copied onto the task."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from ximilar_platform.core.models import TrainableTask
from ximilar_platform.training_jobs.models import TrainingJob, TrainStatus

STATUS_OF_STATE = {
    TrainingJob.State.PENDING: TrainStatus.WAITING,
    TrainingJob.State.RUNNING: TrainStatus.IN_TRAINING,
    TrainingJob.State.SUCCEEDED: TrainStatus.TRAINED,
    TrainingJob.State.FAILED: TrainStatus.FAILED,
}  # a cancelled newest job leaves the task as it was: TRAINED with a production version, else NOT_TRAINED
ANNOTATION = "newest_job_state"


def newest_jobs(kind: str) -> QuerySet[TrainingJob]:
    return TrainingJob.objects.filter(task_kind=kind).order_by("-created", "-id")


def with_train_status(tasks: QuerySet, kind: str) -> QuerySet:
    """Tasks annotated with their newest job's state, so a list reads every status in one query."""
    newest = newest_jobs(kind).filter(task_id=OuterRef("pk")).values("state")[:1]
    return tasks.annotate(**{ANNOTATION: Subquery(newest)})


def train_status(task: TrainableTask) -> str:
    """NOT_TRAINED without jobs; else WAITING, IN_TRAINING, TRAINED or FAILED as the newest job is."""
    if hasattr(task, ANNOTATION):
        state = getattr(task, ANNOTATION)
    else:
        state = newest_jobs(task.task_kind).filter(task_id=task.pk).values_list("state", flat=True).first()
    if state == TrainingJob.State.CANCELLED:
        return TrainStatus.TRAINED if task.production_version >= 1 else TrainStatus.NOT_TRAINED
    return STATUS_OF_STATE.get(state, TrainStatus.NOT_TRAINED)
