"""Recognition's `TrainingAdapter`: data rules and the row snapshot.

The training-job lifecycle (``training_jobs.runner``) calls it; it is the only place that turns
recognition rows into the pure ``training`` library's dataclasses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.exceptions import ValidationError

from ximilar_platform.recognition.models import ImageLabel, Label, Task
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.adapters import TrainingAdapter, run_settings

if TYPE_CHECKING:
    from training.spec import TrainingResult


def task_labels(task: Task) -> list[Label]:
    return list(task.labels.order_by("created", "id"))


def labelled_images(task: Task) -> dict:
    """image id -> (file name, test flag, {label id: value}) for every image carrying a task label."""
    rows = ImageLabel.objects.filter(label__in=task.labels.all()).select_related("image")
    images: dict = {}
    for row in rows:
        entry = images.setdefault(row.image_id, (row.image.file.name, row.image.test_image, {}))
        entry[2][row.label_id] = row.value
    return images


def check_training_data(task: Task) -> None:
    """The rules of contract §1.2, with the minimum images per label taken from settings."""
    minimum = settings.TRAINING_MIN_IMAGES_PER_LABEL
    labels = [label for label in task_labels(task) if label.negative_for_task_id != task.id]
    images = labelled_images(task)
    counts = Counter(label_id for _, _, values in images.values() for label_id in values)
    if task.type == Task.Type.REGRESSION:
        if not labels:
            raise ValidationError("A regression task needs a value label; add one with add-label.")
        with_values = sum(1 for _, _, values in images.values() if values.get(labels[0].id) is not None)
        if with_values < minimum:
            raise ValidationError(
                f"Label '{labels[0].name}' has {with_values} images with a value; at least {minimum} are needed."
            )
        return
    needed = settings.TRAINING_MIN_LABELS if task.type == Task.Type.MULTI_CLASS else 1
    if len(labels) < needed:
        noun = "category labels" if task.type == Task.Type.MULTI_CLASS else "tags besides the negative label"
        raise ValidationError(f"The task needs at least {needed} {noun}; it has {len(labels)}.")
    short = [f"'{label.name}' ({counts[label.id]})" for label in labels if counts[label.id] < minimum]
    if short:
        raise ValidationError(f"Each label needs at least {minimum} images; too few: {', '.join(short)}.")


def snapshot(task: Task, work_dir: Path):
    """Rows to plain dataclasses; training never touches the ORM."""
    from training.spec import Sample, TrainingSpec

    labels = task_labels(task)
    kept = []
    for image_id, (name, test, values) in labelled_images(task).items():
        if task.type == Task.Type.MULTI_CLASS and len(values) != 1:
            continue  # an image in two categories of one task is ambiguous: left out
        value = values.get(labels[0].id) if task.type == Task.Type.REGRESSION else None
        if task.type == Task.Type.REGRESSION and value is None:
            continue
        kept.append((image_id, name, test, values, value))
    paths = artifacts.local_copies((name for _, name, _, _, _ in kept), work_dir)
    samples = [
        Sample(image_id=str(image_id), path=paths[name], labels=tuple(str(v) for v in values), value=value, test=test)
        for image_id, name, test, values, value in kept
    ]
    negative = next((label for label in labels if label.negative_for_task_id == task.id), None)
    spec = TrainingSpec(
        task_type=task.type,
        labels=tuple(str(label.id) for label in (labels[:1] if task.type == Task.Type.REGRESSION else labels)),
        arch=task.arch or settings.TRAINING_ARCH,
        image_size=settings.TRAINING_IMAGE_SIZE,
        epochs=settings.TRAINING_EPOCHS,
        negative_label=str(negative.id) if negative else None,
        quick_first_version=settings.TRAINING_QUICK_FIRST_VERSION
        if task.quick_first_version is None
        else task.quick_first_version,
        **run_settings(),
    )
    return spec, samples


# The validation metric that decides whether a retrained version replaces production, and +1 when
# larger is better.
DEPLOY_METRIC = {
    Task.Type.MULTI_CLASS: ("accuracy", 1),
    Task.Type.MULTI_LABEL: ("micro_f1", 1),
    Task.Type.REGRESSION: ("mae", -1),
}


def classifier() -> Callable[..., TrainingResult]:
    from training.classification import train

    return train


ADAPTER = TrainingAdapter(
    Task, check_training_data, snapshot, classifier, lambda task: DEPLOY_METRIC[task.type], early_versions=True
)
