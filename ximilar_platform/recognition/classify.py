"""``POST recognition/v2/classify``: one batched forward pass through a cached predictor."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.images import InvalidImage
from ximilar_platform.core.api import records as envelope
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.training_jobs import serving
from ximilar_platform.training_jobs.models import TaskKind
from ximilar_platform.training_jobs.predictors import predictor_for


def label_json(labels: dict[str, Label], label_id: str, **fields: Any) -> dict[str, Any]:
    label = labels.get(label_id)
    return {**fields, "name": label.public_name if label else label_id, "id": label_id}


def predictions_json(task: Task, labels: dict[str, Label], predicted: list[dict]) -> dict[str, Any]:
    if task.type == Task.Type.REGRESSION:
        values = [label_json(labels, p["label"], value=round(p["value"], 5)) for p in predicted]
        return {"best_label": values[0], "labels": values}
    everything = [label_json(labels, p["label"], prob=round(p["prob"], 5)) for p in predicted]
    if task.type == Task.Type.MULTI_LABEL:  # tags that pass their threshold, best first
        shown = [item for item, p in zip(everything, predicted, strict=True) if p.get("passed")]
        return {"best_label": everything[0] if everything else None, "labels": shown}
    return {"best_label": everything[0], "labels": everything}


class ClassifyView(APIView):
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        read = serving.read_prediction(request, Task, TaskKind.RECOGNITION)
        task, version, images = read.task, read.version, read.images
        predictions = iter(predictor_for(version).predict(images) if images else [])
        labels = {str(label.id): label for label in Label.objects.filter(id__in=version.manifest.get("labels", []))}
        store = bool(request.data.get("store_images"))
        results = []
        for record, item in zip(read.records, read.decoded, strict=True):
            if isinstance(item, InvalidImage):
                results.append(envelope.failed(record, item))
                continue
            fields = predictions_json(task, labels, next(predictions))
            if store:
                fields["_stored_image_id"] = str(serving.store_image(task.workspace, item))
            results.append(envelope.succeeded(record, item, **fields))
        body = envelope.envelope(results, started, task_id=str(task.id), version=version.version)
        return Response(body)
