"""Classify images with a version of a recognition task, as classify and flows answer it."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.serving import predictors
from ximilar_platform.serving.memo import Remembered
from ximilar_platform.training_jobs.models import ModelVersion

names: Remembered[dict[str, Label]] = Remembered()  # version id -> its labels by id
post_save.connect(names.forget, sender=Label, dispatch_uid="forget-label-names-saved")
post_delete.connect(names.forget, sender=Label, dispatch_uid="forget-label-names-deleted")


def labels_of(version: ModelVersion) -> dict[str, Label]:
    """The version's labels by id (a renamed label answers its new name; a deleted one its id)."""
    return names.get(version.id, lambda: read_labels(version)) or {}


def read_labels(version: ModelVersion) -> dict[str, Label]:
    return {str(label.id): label for label in Label.objects.filter(id__in=version.manifest.get("labels", []))}


def classify(task: Task, version: ModelVersion, images: list) -> list[dict[str, Any]]:
    """``{best_label, labels}`` per image, from one batched forward pass."""
    if not images:
        return []
    predicted = predictors.predictor_for(version).predict(images)
    labels = labels_of(version)
    return [predictions_json(task, labels, one) for one in predicted]


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
