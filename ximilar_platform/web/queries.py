"""What the pages show, read in as few queries as a page needs (display only; changes go through services)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.detection.models import DetectionTask
from ximilar_platform.recognition.models import Task
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob
from ximilar_platform.training_jobs.status import train_status, with_train_status

KIND_NAMES = {TaskKind.RECOGNITION: "Recognition", TaskKind.DETECTION: "Detection", TaskKind.SIMILARITY: "Similarity"}
TYPE_NAMES = {"multi_class": "Categorization", "multi_label": "Tagging", "regression": "Regression"}
METRIC_NAMES = {
    "accuracy": "accuracy",
    "micro_f1": "micro F1",
    "mae": "MAE",
    "map50": "mAP@0.5",
    "precision_at_1": "precision@1",
}

TASK_MODELS: dict[str, type[TrainableTask]] = {
    TaskKind.RECOGNITION: Task,
    TaskKind.DETECTION: DetectionTask,
    TaskKind.SIMILARITY: SimilarityTask,
}


def tasks_of(kind: str, workspace: Workspace) -> QuerySet:
    """The kind's tasks with their label and image counts and the state of their newest job."""
    counts = {
        TaskKind.RECOGNITION: {
            "label_count": Count("labels", filter=Q(labels__negative_for_task__isnull=True), distinct=True),
            "image_count": Count("labels__image_labels__image", distinct=True),
        },
        TaskKind.DETECTION: {
            "label_count": Count("labels", distinct=True),
            "image_count": Count("labels__detection_objects__image", distinct=True),
        },
        TaskKind.SIMILARITY: {
            "label_count": Count("types", distinct=True),
            "image_count": Count("types__groups__images", distinct=True),
        },
    }[kind]
    tasks = TASK_MODELS[kind].objects.filter(workspace=workspace).annotate(**counts).order_by("-created")
    return with_train_status(tasks, kind)


@dataclass(frozen=True)
class TaskRow:
    """One task as the dashboard lists it."""

    task: Any
    kind: str
    status: str
    headline: tuple[str, Any] | None  # (metric name, value of the production version)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(getattr(self.task, "type", ""), KIND_NAMES[self.kind])


def task_rows(workspace: Workspace) -> list[TaskRow]:
    tasks = [(kind, task) for kind in TASK_MODELS for task in tasks_of(kind, workspace)]
    production = {
        (v.task_id, v.version): v
        for v in ModelVersion.objects.filter(workspace=workspace, task_id__in=[task.id for _, task in tasks])
    }
    rows = []
    for kind, task in tasks:
        version = production.get((task.id, task.production_version))
        rows.append(TaskRow(task, kind, train_status(task), headline(version, task) if version else None))
    return sorted(rows, key=lambda row: row.task.created, reverse=True)


def headline(version: ModelVersion, task: TrainableTask) -> tuple[str, Any] | None:
    """The metric that decides deploys of this kind, as the production version scored it."""
    name, _ = adapter_for(version.task_kind).deploy_metric(task)
    value = version.metrics.get(name)
    return (METRIC_NAMES.get(name, name), value) if value is not None else None


def newest_job(task: TrainableTask) -> TrainingJob | None:
    return TrainingJob.objects.filter(task_kind=task.task_kind, task_id=task.id).order_by("-created").first()


def versions_of(task: TrainableTask) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(task_kind=task.task_kind, task_id=task.id).order_by("-version"))
