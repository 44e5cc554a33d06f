"""Detection's `TrainingAdapter`: data rules and the row snapshot (``training_jobs.runner`` calls it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from ximilar_platform.core.models import TaskKind
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.adapters import TrainingAdapter, run_settings
from ximilar_platform.training_jobs.estimates import recent_manifests

if TYPE_CHECKING:
    from training.spec import TrainingResult


def task_labels(task: DetectionTask) -> list[DetectionLabel]:
    return list(task.labels.order_by("created", "id"))


def task_objects(task: DetectionTask):
    return DetectionObject.objects.filter(detection_label__in=task.labels.all()).select_related("image")


def check_training_data(task: DetectionTask) -> None:
    """At least one label, and every label on ``DETECTION_MIN_IMAGES_PER_LABEL`` images."""
    labels = task_labels(task)
    if not labels:
        raise ValidationError("The task has no labels; add one with add-label.")
    minimum = settings.DETECTION_MIN_IMAGES_PER_LABEL
    pairs = set(task_objects(task).values_list("detection_label_id", "image_id"))
    images_per_label = Counter(label_id for label_id, _ in pairs)
    short = [
        f"'{label.name}' ({images_per_label[label.id]})" for label in labels if images_per_label[label.id] < minimum
    ]
    if short:
        raise ValidationError(f"Each label needs objects on at least {minimum} images; too few: {', '.join(short)}.")


def snapshot(task: DetectionTask, work_dir: Path):
    """Rows to plain dataclasses; training never touches the ORM."""
    from training.spec import Box, DetectionSample, DetectionSpec

    boxes: dict = {}
    images: dict = {}
    for obj in task_objects(task):
        images[obj.image_id] = obj.image
        boxes.setdefault(obj.image_id, []).append(Box(str(obj.detection_label_id), *map(float, obj.data)))
    for image in task.negative_images.all():
        images.setdefault(image.id, image)
    paths = artifacts.local_copies((image.file.name for image in images.values()), work_dir)
    samples = [
        DetectionSample(
            image_id=str(image_id),
            path=paths[image.file.name],
            boxes=tuple(boxes.get(image_id, ())),
            test=image.test_image,
        )
        for image_id, image in images.items()
    ]
    spec = DetectionSpec(
        labels=tuple(str(label.id) for label in task_labels(task)),
        arch=task.arch or settings.DETECTION_ARCH,
        image_size=settings.DETECTION_IMAGE_SIZE,
        epochs=settings.DETECTION_EPOCHS,
        patience=settings.DETECTION_PATIENCE,
        cpu_time_budget=settings.DETECTION_CPU_TIME_BUDGET,
        work_dir=str(work_dir / "yolo"),
        **run_settings(),
    )
    return spec, samples


def estimate(task: DetectionTask) -> float | None:
    """Seconds a training of the task's images would take, by the trainer's plan and the workers' measured speed.

    The device is the one of the newest detection version (a CPU before the first one); None
    without an image to train on.
    """
    from training.detection_plan import expected_seconds, measured_rates

    manifests = recent_manifests(TaskKind.DETECTION)
    device = next((m["spec"]["device"] for m in manifests if m.get("spec", {}).get("device")), "cpu")
    images = TrainingImage.objects.filter(
        Q(detection_objects__detection_label__tasks=task) | Q(negative_for_detection_tasks=task), test_image=False
    ).distinct()
    sides = [max(width, height) for width, height in images.values_list("width", "height")]
    if not sides:
        return None
    return expected_seconds(
        images=len(sides),
        longer_sides=sides,
        device=device,
        image_size=settings.DETECTION_IMAGE_SIZE,
        epochs=settings.DETECTION_EPOCHS,
        budget=settings.DETECTION_CPU_TIME_BUDGET if device == "cpu" else None,
        rates=measured_rates(manifests),
    )


def detector() -> Callable[..., TrainingResult]:
    from training.detection import train_detector

    return train_detector


# a retrained detector replaces production when its validation mAP@0.5 is not lower
ADAPTER = TrainingAdapter(
    DetectionTask, check_training_data, snapshot, detector, lambda task: ("map50", 1), estimate=estimate
)
