"""``POST detection/v2/detect``: one batched forward pass through a cached detector (seed 000, contract §2.3)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from PIL import Image
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.images import InvalidImage
from ximilar_platform.core.api import records as envelope
from ximilar_platform.detection.models import DetectionLabel, DetectionTask
from ximilar_platform.training_jobs import serving
from ximilar_platform.training_jobs.models import TaskKind
from ximilar_platform.training_jobs.predictors import predictor_for


def parse_keep_prob(value: Any) -> float:
    """Objects with ``prob`` above this are returned; Ximilar's default is 0.3."""
    if value in (None, ""):
        return settings.DETECTION_KEEP_PROB
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ValidationError({"keep_prob": [f"'{value}' is not a number."]}) from error
    if not 0 <= number <= 1:
        raise ValidationError({"keep_prob": ["keep_prob must be between 0 and 1."]})
    return number


def objects_json(found: list[dict[str, Any]], labels: dict[str, DetectionLabel], image: Image.Image) -> list[dict]:
    """Detections as Ximilar returns them; ``bound_box`` in pixels of ``image``, ``area`` a fraction of it."""
    area = float(image.width * image.height) or 1.0
    objects = []
    for item in found:
        label = labels.get(item["label"])
        xmin, ymin, xmax, ymax = item["bound_box"]
        objects.append({
            "name": label.public_name if label else item["label"], "id": item["label"],
            "bound_box": [int(xmin), int(ymin), int(xmax), int(ymax)], "prob": round(float(item["prob"]), 5),
            "area": round((xmax - xmin) * (ymax - ymin) / area, 5),
        })
    return objects


class DetectView(APIView):
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        read = serving.read_prediction(request, DetectionTask, TaskKind.DETECTION)
        task, version, good = read.task, read.version, read.images
        keep_prob = parse_keep_prob(request.data.get("keep_prob"))
        with_descriptor = bool(request.data.get("descriptor"))
        predictions = iter(predictor_for(version).predict(good, keep_prob=keep_prob) if good else [])
        descriptors = iter(serving.describe(good) if good and with_descriptor else [])
        labels = {str(label.id): label for label in DetectionLabel.objects.filter(id__in=version.manifest["labels"])}
        store = bool(request.data.get("store_images"))
        results = []
        for record, item in zip(read.records, read.decoded, strict=True):
            if isinstance(item, InvalidImage):
                results.append(envelope.failed(record, item))
                continue
            fields: dict[str, Any] = {"_objects": objects_json(next(predictions), labels, item.image)}
            if with_descriptor:
                fields["_descriptor"] = next(descriptors)
            if store:
                fields["_stored_image_id"] = str(serving.store_image(task.workspace, item))
            results.append(envelope.succeeded(record, item, **fields))
        body = envelope.envelope(results, started, task_id=str(task.id), version=version.version)
        return Response(body)
