"""A task's Annotate tab: where its images stand, the model's suggestions, jobs per person, settings."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ximilar_platform.annotate import assignments, suggestions
from ximilar_platform.annotate.models import AnnotationJob, Suggestion, SuggestionRun
from ximilar_platform.annotate.queue import task_queue
from ximilar_platform.annotate.reviews import STATUSES, status_name, with_status
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.web.access import owned, page
from ximilar_platform.web.feedback import reported
from ximilar_platform.web.views.tasks import task_context, task_of

ORDER_NAMES = {
    "todo": "Not annotated first",
    "uncertain": "Least certain predictions first",
    "review": "To review first (annotated, not verified)",
    "oldest": "Upload order",
}
STATUS_NAMES = {"todo": "To do", "rejected": "Sent back", "annotated": "Annotated", "verified": "Verified"}


def annotated_task(request: HttpRequest, kind: str, task_id: str) -> TrainableTask:
    if kind == TaskKind.SIMILARITY:
        raise Http404("Similarity tasks are annotated by grouping images (Types tab).")
    task = task_of(request, kind, task_id)
    if getattr(task, "type", "") == "regression":
        raise Http404("Regression tasks take values on the Images page.")
    return task


def counts(task: TrainableTask) -> dict[str, int]:
    images = with_status(TrainingImage.objects.filter(workspace_id=task.workspace_id), task)
    found = Counter(status_name(rank) for rank in images.values_list("status_rank", flat=True))
    return {status: found.get(status, 0) for status in STATUSES}


def run_context(task: TrainableTask) -> dict[str, Any]:
    run = SuggestionRun.objects.filter(task_id=task.id).select_related("version").order_by("-created").first()
    active = run is not None and run.state in SuggestionRun.ACTIVE
    percent = round(100 * run.done / run.total) if run and run.total else 0
    return {"run": run, "run_active": active, "run_percent": percent}


@page
def landing(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = annotated_task(request, kind, task_id)
    jobs = list(AnnotationJob.objects.filter(task_id=task.id).select_related("assignee").order_by("-created"))
    for job in jobs:
        job.progress = assignments.job_progress(task, job)
        job.percent = round(100 * (job.progress["annotated"] + job.progress["verified"]) / (job.progress["total"] or 1))
    status_counts = counts(task)
    context = task_context(request, task, "annotate") | run_context(task)
    context |= {
        "counts": [(status, STATUS_NAMES[status], status_counts[status]) for status in STATUSES],
        "total": sum(status_counts.values()),
        "orders": ORDER_NAMES.items(),
        "statuses": STATUS_NAMES.items(),
        "labels": list(task.labels.order_by("name")),
        "jobs": jobs,
        "members": request.workspace.members.order_by("username"),
        "people": assignments.people_progress(task),
        "open_suggestions": Suggestion.objects.filter(task_id=task.id, state=Suggestion.State.OPEN).count(),
        "max_images": settings.SUGGESTION_MAX_IMAGES,
        "queue_size": settings.ANNOTATE_QUEUE_SIZE,
    }
    return render(request, "web/annotate/landing.html", context)


@page
def run_panel(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    """The suggestion run panel alone, polled while a run waits or works."""
    task = annotated_task(request, kind, task_id)
    context = task_context(request, task, "annotate") | run_context(task)
    context["open_suggestions"] = Suggestion.objects.filter(task_id=task.id, state=Suggestion.State.OPEN).count()
    return render(request, "web/annotate/run.html", context)


@page
@require_POST
def suggest(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    """Predict the task's images of a status (or all) with the production version, up to the run limit."""
    task = annotated_task(request, kind, task_id)
    status = request.POST.get("status") or None
    with reported(request, "Suggestions queued: a worker predicts the images; they appear as they are done."):
        images = list(task_queue(task, status=status)[: settings.SUGGESTION_MAX_IMAGES])
        suggestions.start_suggestions(task=task, images=images, by=request.user)
    return redirect("web:annotate", kind=kind, task_id=task.id)


@page
@require_POST
def cancel_run(request: HttpRequest, kind: str, task_id: str, run_id: str) -> HttpResponse:
    task = annotated_task(request, kind, task_id)
    run = owned(SuggestionRun, run_id, request, task_id=task.id)
    run.cancel(by=request.user.get_username())
    messages.info(request, "Suggestions stopped; those already made stay.")
    return redirect("web:annotate", kind=kind, task_id=task.id)


@page
@require_POST
def accept_above(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = annotated_task(request, kind, task_id)
    with reported(request):
        threshold = suggestions.parse_threshold(request.POST.get("threshold"))
        accepted = suggestions.accept_above(
            suggestions=Suggestion.objects.filter(task_id=task.id), threshold=threshold, by=request.user
        )
        messages.success(
            request, f"Accepted {accepted} suggestion{'s' if accepted != 1 else ''} of at least {threshold:.0%}."
        )
    return redirect("web:annotate", kind=kind, task_id=task.id)


@page
@require_POST
def create_job(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = annotated_task(request, kind, task_id)
    with reported(request, "Job created."):
        count = request.POST.get("count", "")
        assignments.create_job(
            task=task,
            name=request.POST.get("name", ""),
            by=request.user,
            assignee=assignments.member(task.workspace_id, request.POST.get("assignee")),
            count=int(count) if count.isdigit() else 0,
        )
    return redirect("web:annotate", kind=kind, task_id=task.id)


@page
@require_POST
def delete_job(request: HttpRequest, kind: str, task_id: str, job_id: str) -> HttpResponse:
    task = annotated_task(request, kind, task_id)
    owned(AnnotationJob, job_id, request, task_id=task.id).delete()
    messages.success(request, "Job deleted; its images and their annotations stay.")
    return redirect("web:annotate", kind=kind, task_id=task.id)


@page
@require_POST
def change_settings(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = annotated_task(request, kind, task_id)
    value = request.POST.get("required_verifications", "")
    if not value.isdigit() or not 1 <= int(value) <= 10:
        messages.error(request, "Give a number of verifications from 1 to 10.")
    else:
        type(task).objects.filter(pk=task.pk).update(required_verifications=int(value))
        messages.success(request, f"An image now counts as verified after {value} check{'s' if value != '1' else ''}.")
    return redirect("web:annotate", kind=kind, task_id=task.id)
