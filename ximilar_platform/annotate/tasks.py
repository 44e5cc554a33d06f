"""The tasks people annotate: recognition and detection tasks, found by id whatever their kind."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from ximilar_platform.core.api.lookups import parse_uuid
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.detection.models import DetectionTask
from ximilar_platform.recognition.models import Task
from ximilar_platform.serving.requests import find_owned

MODELS: dict[str, type[TrainableTask]] = {TaskKind.RECOGNITION: Task, TaskKind.DETECTION: DetectionTask}


def task_of(kind: str, task_id: uuid.UUID) -> TrainableTask:
    return MODELS[kind]._default_manager.get(pk=task_id)


def find_annotated_task(request: Request, value: Any, field: str = "task_id") -> TrainableTask:
    """The recognition or detection task a request names, in one of the user's workspaces; 404 otherwise."""
    if value in (None, ""):
        raise ValidationError({field: ["Name the recognition or detection task."]})
    task_id = parse_uuid(value, field)
    for model in MODELS.values():
        if model._default_manager.filter(pk=task_id).exists():
            return find_owned(request, model, task_id, "Task not found.")
    raise NotFound("Task not found (annotation works on recognition and detection tasks).")
