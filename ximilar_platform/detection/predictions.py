"""Detect objects with a version of a detection task, as detect and flows answer it (seed 000, contract §2.3)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from PIL import Image
from rest_framework.exceptions import ValidationError

from ximilar_platform.detection.models import DetectionLabel
from ximilar_platform.serving import predictors
from ximilar_platform.serving.memo import Remembered
from ximilar_platform.training_jobs.models import ModelVersion

names: Remembered[dict[str, DetectionLabel]] = Remembered()  # version id -> its labels by id
post_save.connect(names.forget, sender=DetectionLabel, dispatch_uid="forget-detection-label-names-saved")
post_delete.connect(names.forget, sender=DetectionLabel, dispatch_uid="forget-detection-label-names-deleted")


def labels_of(version: ModelVersion) -> dict[str, DetectionLabel]:
    """The version's labels by id (a renamed label answers its new name)."""
    return names.get(version.id, lambda: read_labels(version)) or {}


def read_labels(version: ModelVersion) -> dict[str, DetectionLabel]:
    return {str(label.id): label for label in DetectionLabel.objects.filter(id__in=version.manifest["labels"])}


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


def detect(
    version: ModelVersion, images: list[Image.Image], keep_prob: float, full_sizes: list[tuple[int, int]] | None = None
) -> list[list[dict[str, Any]]]:
    """The objects found on each image, from one batched forward pass.

    ``full_sizes``: the size each image has at full resolution, when it was decoded smaller;
    boxes are answered in those pixels.
    """
    if not images:
        return []
    found = predictors.predictor_for(version).predict(images, keep_prob=keep_prob)
    labels = labels_of(version)
    sizes = full_sizes or [image.size for image in images]
    return [
        objects_json(objects, labels, image, size) for objects, image, size in zip(found, images, sizes, strict=True)
    ]


def objects_json(
    found: list[dict[str, Any]], labels: dict[str, DetectionLabel], image: Image.Image, full_size: tuple[int, int]
) -> list[dict]:
    """Detections as Ximilar returns them; ``bound_box`` in pixels of ``full_size``, ``area`` a fraction of it.

    The detector's boxes, in pixels of ``image``, are scaled to ``full_size`` (a JPEG decoded smaller).
    """
    width, height = full_size
    area = float(width * height) or 1.0
    sx, sy = width / (image.width or 1), height / (image.height or 1)
    objects = []
    for item in found:
        label = labels.get(item["label"])
        xmin, ymin, xmax, ymax = (v * scale for v, scale in zip(item["bound_box"], (sx, sy, sx, sy), strict=True))
        objects.append(
            {
                "name": label.public_name if label else item["label"],
                "id": item["label"],
                "bound_box": [round(xmin), round(ymin), round(xmax), round(ymax)],
                "prob": round(float(item["prob"]), 5),
                "area": round((xmax - xmin) * (ymax - ymin) / area, 5),
            }
        )
    return objects
