"""A task's pages: overview with training (rules, live progress, cancel) and its labels."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.datasets.catalog import formats_for
from ximilar_platform.detection.models import DetectionLabel
from ximilar_platform.detection.serializers import DetectionLabelSerializer
from ximilar_platform.recognition import services as recognition
from ximilar_platform.recognition.models import Label
from ximilar_platform.recognition.serializers import LabelSerializer
from ximilar_platform.similarity.models import SimilarityType
from ximilar_platform.similarity.serializers import SimilarityTypeSerializer
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.estimates import expected_training_seconds
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob
from ximilar_platform.training_jobs.services import cancel_training, start_training
from ximilar_platform.training_jobs.status import train_status
from ximilar_platform.training_jobs.traffic import traffic_report
from ximilar_platform.web.access import as_uuid, owned, page
from ximilar_platform.web.feedback import reason, reported
from ximilar_platform.web.queries import KIND_NAMES, TASK_MODELS, TYPE_NAMES, headline, newest_job, tasks_of
from ximilar_platform.web.writes import save

TRAFFIC_DAYS = 14  # days of traffic counts a task's overview shows


def task_of(request: HttpRequest, kind: str, task_id: str) -> Any:
    """The task of this kind in the request's workspace, with its counts and train status, else 404."""
    if kind not in TASK_MODELS:
        raise Http404("No such kind of task.")
    task = tasks_of(kind, request.workspace).filter(id=as_uuid(task_id)).first()
    if task is None:
        raise Http404("No such task.")
    return task


def task_context(request: HttpRequest, task: TrainableTask, tab: str) -> dict[str, Any]:
    kind = task.task_kind
    production = ModelVersion.objects.filter(task_kind=kind, task_id=task.id, version=task.production_version).first()
    return {
        "task": task,
        "kind": kind,
        "kind_name": KIND_NAMES[kind],
        "section": "tasks",
        "tab": tab,
        "type_name": TYPE_NAMES.get(getattr(task, "type", ""), KIND_NAMES[kind]),
        "title": task.name,
        "status": train_status(task),
        "production": production,
        "headline": headline(production, task) if production else None,
    }


def training_rules(task: TrainableTask) -> str | None:
    """Why the task cannot be trained yet (the API's reasons), or None when it can."""
    try:
        adapter_for(task.task_kind).check_training_data(task)
    except APIException as error:
        return reason(error)
    return None


def expected_context(task: TrainableTask, rules: str | None) -> dict[str, Any]:
    """The rules, and when the task can train, how long a training is expected to take (as the API says)."""
    seconds = None if rules else expected_training_seconds(task)
    return {"rules": rules, "expected_seconds": seconds, "expected": seconds and about(seconds)}


def about(seconds: float) -> str:
    """A duration as a person reads it: seconds under 90, else whole minutes."""
    return f"{round(seconds)} s" if seconds < 90 else f"{round(seconds / 60)} min"


def job_context(job: TrainingJob | None) -> dict[str, Any]:
    """The newest job with its elapsed time and an estimate of the time left, from its epochs so far."""
    if job is None:
        return {"job": None, "active": False}
    progress, elapsed, remaining = job.progress or {}, None, None
    if job.started:
        elapsed = ((job.finished or timezone.now()) - job.started).total_seconds()
    epoch, epochs = progress.get("epoch"), progress.get("epochs")
    if job.state == job.State.RUNNING and elapsed and epoch and epochs:
        remaining = elapsed / epoch * (epochs - epoch)
    percent = round(100 * epoch / epochs) if epoch and epochs else 0
    return {
        "job": job,
        "progress": progress,
        "elapsed": elapsed,
        "remaining": remaining,
        "percent": percent,
        "active": job.state in job.ACTIVE,
    }


@page
def overview(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    context = task_context(request, task, "overview") | job_context(newest_job(task))
    context |= expected_context(task, training_rules(task))
    context |= {"traffic": traffic_report(task, days=TRAFFIC_DAYS), "traffic_days": TRAFFIC_DAYS}
    context["dataset_formats"] = formats_for(kind, getattr(task, "type", ""))
    return render(request, "web/tasks/overview.html", context)


@page
def job_panel(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    """The training panel alone, polled by the overview while a job waits or runs."""
    task = task_of(request, kind, task_id)
    context = task_context(request, task, "overview") | job_context(newest_job(task))
    context |= expected_context(task, training_rules(task)) | {"polled": True}
    response = render(request, "web/partials/job.html", context)
    if not context["active"] and request.GET.get("was") == "active":
        response["HX-Refresh"] = "true"  # the job just ended: show the new version everywhere
    return response


@page
@require_POST
def train(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    with reported(request, "Training queued: a worker picks it up shortly."):
        start_training(task=task, by=request.user)
    return redirect("web:task", kind=kind, task_id=task.id)


@page
@require_POST
def cancel(request: HttpRequest, kind: str, task_id: str, job_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    job = owned(TrainingJob, job_id, request, task_id=task.id)
    with reported(request, "Training cancelled."):
        cancel_training(job=job, by=request.user.get_username())
    return redirect("web:task", kind=kind, task_id=task.id)


@page
def labels(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    context = task_context(request, task, "labels")
    if kind == TaskKind.RECOGNITION:
        context["labels"] = task.labels.annotate(
            image_total=Count("image_labels", distinct=True), task_count=Count("tasks", distinct=True)
        ).order_by("created")
    elif kind == TaskKind.DETECTION:
        context["labels"] = task.labels.annotate(
            object_total=Count("detection_objects", distinct=True),
            image_total=Count("detection_objects__image", distinct=True),
        )
    else:
        context["types"] = task.types.annotate(group_count=Count("groups", distinct=True))
        context["other_types"] = SimilarityType.objects.filter(workspace=request.workspace).exclude(tasks=task)
    return render(request, "web/tasks/labels.html", context)


@page
@require_POST
def create_label(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    name = request.POST.get("name", "").strip()
    with reported(request, f"Label {name} added."):
        if kind == TaskKind.RECOGNITION:
            label = save(
                LabelSerializer,
                {"name": name, "type": task.label_type, "output_name": request.POST.get("output_name", "")},
                request,
                workspace=request.workspace,
            )
            recognition.add_label_to_task(task=task, label=label)
        elif kind == TaskKind.DETECTION:
            label = save(
                DetectionLabelSerializer,
                {"name": name, "color": request.POST.get("color") or "#2F5BEA"},
                request,
                workspace=request.workspace,
            )
            task.labels.add(label)
        else:
            raise Http404("Similarity tasks have types, not labels.")
    return redirect("web:task-labels", kind=kind, task_id=task.id)


def label_of(request: HttpRequest, kind: str, label_id: str) -> Label | DetectionLabel:
    model = {TaskKind.RECOGNITION: Label, TaskKind.DETECTION: DetectionLabel}.get(kind)
    if model is None:
        raise Http404("No such kind of label.")
    return owned(model, label_id, request)


@page
@require_POST
def edit_label(request: HttpRequest, kind: str, task_id: str, label_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    label = label_of(request, kind, label_id)
    fields = {key: request.POST[key] for key in ("name", "output_name", "color") if key in request.POST}
    serializer = LabelSerializer if kind == TaskKind.RECOGNITION else DetectionLabelSerializer
    with reported(request, "Label saved."):
        save(serializer, fields, request, instance=label)
    return redirect("web:task-labels", kind=kind, task_id=task.id)


@page
@require_POST
def delete_label(request: HttpRequest, kind: str, task_id: str, label_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    label = label_of(request, kind, label_id)
    if isinstance(label, Label) and label.negative_for_task_id:
        messages.error(request, "The negative label of a tagging task cannot be deleted.")
    else:
        label.delete()
        messages.success(request, f"Label {label.name} deleted.")
    return redirect("web:task-labels", kind=kind, task_id=task.id)


@page
@require_POST
def change_types(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    """A similarity task trains on the groups of its types: add an existing type, a new one, or remove one."""
    task = task_of(request, kind, task_id)
    if kind != TaskKind.SIMILARITY:
        raise Http404("Only similarity tasks have types.")
    if request.POST.get("remove"):
        task.types.remove(owned(SimilarityType, request.POST["remove"], request))
    elif request.POST.get("type"):
        task.types.add(owned(SimilarityType, request.POST["type"], request))
    elif request.POST.get("name", "").strip():
        with reported(request):
            task.types.add(
                save(
                    SimilarityTypeSerializer,
                    {"name": request.POST["name"].strip()},
                    request,
                    workspace=request.workspace,
                )
            )
    return redirect("web:task-labels", kind=kind, task_id=task.id)


@page
@require_POST
def delete_task(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    name = task.name
    TASK_MODELS[kind].objects.filter(id=task.id).delete()
    messages.success(request, f"Task {name} deleted.")
    return redirect("web:dashboard")
