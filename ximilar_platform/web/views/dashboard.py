"""The dashboard: every task of the workspace, of every kind, and creating one."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from ximilar_platform.core.models import TaskKind
from ximilar_platform.datasets.catalog import FORMATS
from ximilar_platform.detection.serializers import DetectionTaskSerializer
from ximilar_platform.recognition import services as recognition
from ximilar_platform.recognition.models import Task
from ximilar_platform.similarity.serializers import SimilarityTaskSerializer
from ximilar_platform.web.access import page
from ximilar_platform.web.feedback import reason
from ximilar_platform.web.queries import task_rows
from ximilar_platform.web.writes import save

NEW_TASK_KINDS = [
    ("multi_class", "Categorization", "one category per image"),
    ("multi_label", "Tagging", "any number of tags per image"),
    ("regression", "Regression", "a number per image"),
    ("detection", "Object detection", "boxes around objects"),
    ("similarity", "Similarity", "find images of the same item"),
]


@page
def dashboard(request: HttpRequest) -> HttpResponse:
    rows = task_rows(request.workspace)
    context = {"rows": rows, "kinds": NEW_TASK_KINDS, "section": "tasks", "title": "Tasks"}
    return render(request, "web/dashboard.html", context | {"dataset_formats": FORMATS.values()})


@page
@require_POST
def create_task(request: HttpRequest) -> HttpResponse:
    name, kind = request.POST.get("name", "").strip(), request.POST.get("kind", "")
    description = request.POST.get("description", "")
    try:
        if kind in (Task.Type.MULTI_CLASS, Task.Type.MULTI_LABEL, Task.Type.REGRESSION):
            if not name:
                raise ValueError("Give the task a name.")
            task = recognition.create_task(workspace=request.workspace, name=name, type=kind, description=description)
            return redirect("web:task", kind=TaskKind.RECOGNITION, task_id=task.id)
        serializer = {TaskKind.DETECTION: DetectionTaskSerializer, TaskKind.SIMILARITY: SimilarityTaskSerializer}.get(
            kind
        )
        if serializer is None:
            raise ValueError("Choose what the task should do.")
        task = save(serializer, {"name": name, "description": description}, request, workspace=request.workspace)
        return redirect("web:task", kind=kind, task_id=task.id)
    except (ValueError, APIException) as error:  # a refused name or kind: shown on the dashboard
        rows = task_rows(request.workspace)
        return render(
            request,
            "web/dashboard.html",
            {
                "rows": rows,
                "kinds": NEW_TASK_KINDS,
                "section": "tasks",
                "title": "Tasks",
                "create_error": reason(error),
                "form": request.POST,
                "open_create": True,
                "dataset_formats": FORMATS.values(),
            },
            status=400,
        )
