"""Test a model: drop an image (or give a URL) on a task and read the answer of a version."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.exceptions import APIException

from inference.images import DecodedImage, InvalidImage, decode_bytes, encode_image, fetch_url, resize_to_max_side
from ximilar_platform.core.models import TaskKind
from ximilar_platform.detection.predictions import detect, parse_keep_prob
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.images.storage import image_limits, open_stored, url_policy
from ximilar_platform.recognition.predictions import classify
from ximilar_platform.serving import predictors
from ximilar_platform.serving.requests import version_of
from ximilar_platform.serving.responses import store_image
from ximilar_platform.web.access import page
from ximilar_platform.web.drawing import PALETTE, box
from ximilar_platform.web.feedback import reason
from ximilar_platform.web.queries import versions_of
from ximilar_platform.web.views.tasks import task_context, task_of

SHOWN_SIDE = 900  # the answer shows the image at most this wide, inline
NEIGHBOUR_POOL, NEIGHBOURS = 200, 8  # similarity: the task's images compared, and how many are shown


@page
def test(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    if request.method == "POST":
        return answer(request, task)
    context = task_context(request, task, "test") | {"versions": versions_of(task)}
    return render(request, "web/tasks/test.html", context)


def read_image(request: HttpRequest) -> DecodedImage:
    upload = request.FILES.get("image")
    if upload is not None:
        if upload.size > image_limits().max_bytes:
            raise InvalidImage("The image is larger than the upload limit.", status=413)
        return decode_bytes(upload.read(), image_limits())
    url = request.POST.get("url", "").strip()
    if url:
        return decode_bytes(fetch_url(url, url_policy()), image_limits())
    raise InvalidImage("Drop an image or give its URL.")


def answer(request: HttpRequest, task: Any) -> HttpResponse:
    try:
        decoded = read_image(request)
        version = version_of(task, request.POST.get("version") or None)
        context: dict[str, Any] = {"version": version, "kind": task.task_kind, "task": task}
        images = [decoded.image]
        if task.task_kind == TaskKind.RECOGNITION:
            context["result"] = classify(task, version, images)[0]
        elif task.task_kind == TaskKind.DETECTION:
            found = detect(version, images, parse_keep_prob(request.POST.get("keep_prob")))[0]
            colours = {label.name: label.color for label in task.labels.all()}
            context["boxes"] = [
                box(obj["bound_box"], obj["name"], colours.get(obj["name"], PALETTE[0]), obj["prob"]) for obj in found
            ]
        else:
            context["neighbours"] = neighbours(task, version, decoded)
        if request.POST.get("store") == "on":
            context["stored"] = store_image(request.workspace, decoded)
    except (APIException, InvalidImage) as error:
        return render(request, "web/partials/prediction.html", {"error": reason(error)}, status=400)
    context |= {"preview": preview(decoded), "width": decoded.image.width, "height": decoded.image.height}
    return render(request, "web/partials/prediction.html", context)


def preview(decoded: DecodedImage) -> str:
    data = encode_image(resize_to_max_side(decoded.image, SHOWN_SIDE), "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def neighbours(task: Any, version: Any, decoded: DecodedImage) -> list[dict[str, Any]]:
    """The task's training images nearest to the query by the version's embedding (its newest images)."""
    pool = list(
        TrainingImage.objects.filter(similarity_groups__type__tasks=task)
        .distinct()
        .prefetch_related("similarity_groups")
        .order_by("-created")[:NEIGHBOUR_POOL]
    )
    if not pool:
        return []
    pictures = [open_stored(image.thumbnail.name) for image in pool]
    vectors = np.asarray(predictors.predictor_for(version).predict([decoded.image, *pictures]), dtype=np.float32)
    distances = 1.0 - vectors[1:] @ vectors[0]
    order = np.argsort(distances)[:NEIGHBOURS]
    groups = {image.id: [g.name for g in image.similarity_groups.all()] for image in pool}
    return [{"image": pool[i], "distance": float(distances[i]), "groups": groups[pool[i].id]} for i in order]
