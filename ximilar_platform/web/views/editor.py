"""The annotation editor: one page walks a queue of images (``static/web/annotate.js``); each image's
boxes, labels and suggestions come as JSON, and every change is saved through the public API."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from rest_framework.exceptions import APIException

from ximilar_platform.annotate.models import AnnotationJob, Suggestion, Verification
from ximilar_platform.annotate.queue import task_queue
from ximilar_platform.annotate.reviews import status_name, status_of
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel
from ximilar_platform.recognition.models import Label as RecognitionLabel
from ximilar_platform.web.access import maybe, owned, page
from ximilar_platform.web.drawing import PALETTE
from ximilar_platform.web.feedback import reason
from ximilar_platform.web.views.annotate import ORDER_NAMES, STATUS_NAMES, annotated_task
from ximilar_platform.web.views.tasks import task_context

IMAGE_LABEL_CHOICES = 60  # recognition labels offered on a detection image; more belong in the Images page
ZERO = uuid.UUID(int=0)


def task_labels(task: TrainableTask) -> list[dict[str, Any]]:
    """The labels the number keys pick, in key order, each with a colour."""
    labels = list(task.labels.order_by("name"))
    return [
        {"id": str(label.id), "name": label.name, "color": getattr(label, "color", "") or PALETTE[i % len(PALETTE)]}
        for i, label in enumerate(labels)
    ]


def label_choices(task: TrainableTask) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    """Recognition labels a detection image may get, and those each detection label's objects may get."""
    categories = RecognitionLabel.objects.filter(workspace_id=task.workspace_id).exclude(type="value")
    image_labels = [
        {"id": str(label.id), "name": label.name} for label in categories.order_by("name")[:IMAGE_LABEL_CHOICES]
    ]
    objects: dict[str, list[dict[str, str]]] = {}
    for label in task.labels.prefetch_related("recognition_tasks__labels"):
        objects[str(label.id)] = [
            {"id": str(choice.id), "name": choice.name}
            for recognition_task in label.recognition_tasks.all()
            for choice in recognition_task.labels.all()
        ]
    return image_labels, objects


@page
def work(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    """``?order=&status=&label=&job=&image=``: the editor over the first images of that queue."""
    task = annotated_task(request, kind, task_id)
    params = request.GET
    job = maybe(AnnotationJob, params.get("job"), request) if params.get("job") else None
    label = maybe(task.labels.model, params.get("label"), request) if params.get("label") else None
    error = None
    try:
        rows = task_queue(
            task,
            order=params.get("order") or "todo",
            status=params.get("status") or None,
            label=label.id if label else None,
            job=job,
        )
        queue = [
            {"id": str(image.id), "img": image.file.url, "status": status_name(image.status_rank)}
            for image in rows[: settings.ANNOTATE_QUEUE_SIZE]
        ]
    except APIException as problem:
        error, queue = reason(problem), []
    image_labels, object_labels = label_choices(task) if kind == TaskKind.DETECTION else ([], {})
    config = {
        "kind": kind,
        "task": str(task.id),
        "workspace": str(request.workspace.id),
        "csrf": get_token(request),
        "api": "/",
        "imageUrl": reverse("web:annotate-image", kwargs={"kind": kind, "task_id": task.id, "image_id": ZERO}),
        "requiredVerifications": task.required_verifications,
        "multiClass": getattr(task, "type", "") == "multi_class",
        "labels": task_labels(task),
        "imageLabels": image_labels,
        "objectLabels": object_labels,
        "start": params.get("image") or "",
    }
    context = task_context(request, task, "annotate") | {
        "config": config,
        "queue": queue,
        "error": error,
        "order_name": ORDER_NAMES.get(params.get("order") or "todo", ""),
        "status_name": STATUS_NAMES.get(params.get("status") or "", ""),
        "job": job,
        "filter_label": label,
        "limit": settings.ANNOTATE_QUEUE_SIZE,
    }
    return render(request, "web/annotate/work.html", context)


@page
def image_data(request: HttpRequest, kind: str, task_id: str, image_id: str) -> JsonResponse:
    """One image as the editor needs it: the task's boxes or labels, open suggestions, status."""
    task = annotated_task(request, kind, task_id)
    image = owned(TrainingImage, image_id, request)
    objects, negative = [], False
    if kind == TaskKind.DETECTION:
        found = DetectionObject.objects.filter(image=image, detection_label__tasks=task).prefetch_related(
            "object_labels"
        )
        objects = [
            {
                "id": str(obj.id),
                "label": str(obj.detection_label_id),
                "data": obj.data,
                "labels": [str(link.label_id) for link in obj.object_labels.all()],
            }
            for obj in found.order_by("created", "id")
        ]
        negative = task.negative_images.filter(pk=image.pk).exists()
    suggested = Suggestion.objects.filter(task_id=task.id, image=image, state=Suggestion.State.OPEN)
    suggestions = [
        {
            "id": str(s.id),
            "label": str(s.detection_label_id or s.label_id),
            "label_name": (s.detection_label or s.label).name,
            "data": s.data,
            "score": s.score,
        }
        for s in suggested.select_related("detection_label", "label").order_by("-score", "id")
    ]
    status = status_of(task, image)
    return JsonResponse(
        {
            "id": str(image.id),
            "url": image.file.url,
            "width": image.width,
            "height": image.height,
            **status,
            "verify_count": image.verify_count,
            "verified_by_me": Verification.objects.filter(image=image, user=request.user).exists(),
            "negative": negative,
            "objects": objects,
            "suggestions": suggestions,
            "image_labels": [
                str(pk) for pk in ImageLabel.objects.filter(image=image).values_list("label_id", flat=True)
            ],
        }
    )
