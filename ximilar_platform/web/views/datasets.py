"""Datasets in the web app: a task exported as a format, a zip imported, the job's page and its zip."""

from __future__ import annotations

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from ximilar_platform.datasets.catalog import FORMATS
from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.datasets.services import TASK_MODELS, start_export, start_import
from ximilar_platform.web.access import maybe, owned, page
from ximilar_platform.web.feedback import reason
from ximilar_platform.web.views.tasks import task_of


@page
@require_POST
def export(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    try:
        job = start_export(task=task, format=request.POST.get("format", ""), by=request.user)
    except APIException as error:
        messages.error(request, reason(error))
        return redirect("web:task", kind=kind, task_id=task.id)
    return redirect("web:dataset-job", job_id=job.id)


@page
@require_POST
def import_dataset(request: HttpRequest) -> HttpResponse:
    """A zip from the tasks list into a new task, or from a task's page into that task."""
    kind = request.POST.get("kind", "")
    task = maybe(TASK_MODELS[kind], request.POST.get("task"), request) if kind in TASK_MODELS else None
    try:
        job = start_import(
            workspace=request.workspace,
            format=request.POST.get("format", ""),
            task=task,
            by=request.user,
            upload=request.FILES.get("file"),
        )
    except APIException as error:
        messages.error(request, reason(error))
        return redirect("web:task", kind=kind, task_id=task.id) if task else redirect("web:dashboard")
    return redirect("web:dataset-job", job_id=job.id)


@page
def job(request: HttpRequest, job_id: str) -> HttpResponse:
    found = owned(DatasetJob, job_id, request)
    done = found.state not in DatasetJob.ACTIVE
    context = {
        "job": found,
        "format": FORMATS.get(found.format),
        "done": done,
        "percent": round(100 * found.done / found.total) if found.total else 0,
        "section": "tasks",
        "title": f"Dataset {found.direction}",
    }
    return render(request, "web/datasets/job.html", context)


@page
@require_POST
def cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    found = owned(DatasetJob, job_id, request)
    if found.cancel(by=request.user.get_username()):
        messages.success(request, f"{found.get_direction_display()} cancelled; nothing was kept.")
    else:
        messages.error(request, f"This {found.direction} already ended ({found.state}).")
    return redirect("web:dataset-job", job_id=found.id)


@page
def download(request: HttpRequest, job_id: str) -> FileResponse:
    found = owned(DatasetJob, job_id, request)
    if found.state != DatasetJob.State.SUCCEEDED or not found.archive:
        raise Http404("This job has no archive to download.")
    name = found.archive.rsplit("/", 1)[-1]
    return FileResponse(default_storage.open(found.archive, "rb"), as_attachment=True, filename=name)
