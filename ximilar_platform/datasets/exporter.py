"""A task into a `records.Dataset`, with each image's stored file copied into a pool folder.

Files are named by their content (the first 20 hex digits of their SHA-256), so exporting the same
images twice, from any workspace, gives the same names. The export carries the task's labels in
creation order; a categorization or tagging task's images with their labels (and values), a
detection task's images with its boxes and its negative images (a similarity task's: `groups`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet

from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.records import Box, Dataset, LabelInfo, LabelValue, Sample
from ximilar_platform.detection.models import DetectionObject, ObjectLabel
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel, Label

CHUNK = 1 << 20
Progress = Callable[[int, int], bool]  # (done, total) -> False when the export should stop


def snapshot(task: TrainableTask, pool: Path, on_progress: Progress) -> Dataset:
    """The task as a dataset whose sample paths name files in ``pool``; stops when ``on_progress`` says so."""
    labels = list(task.labels.order_by("created", "id"))
    unique([label.name for label in labels], "label")
    dataset = described(task)
    dataset.labels = [label_info(label) for label in labels]
    if task.task_kind == TaskKind.DETECTION:
        images, samples = detection_samples(task, labels, dataset)
    else:
        images, samples = recognition_samples(labels)
    copy_images(dataset, images, samples, pool, on_progress)
    return dataset


def described(task: TrainableTask) -> Dataset:
    """A dataset of the task's kind and fields, no image yet."""
    return Dataset(
        kind=task.task_kind,
        task_type=getattr(task, "type", ""),
        task={
            "name": task.name,
            "description": task.description,
            "arch": task.arch,
            "required_verifications": task.required_verifications,
        },
    )


def copy_images(
    dataset: Dataset, images: list[TrainingImage], samples: dict[Any, Sample], pool: Path, on_progress: Progress
) -> None:
    """Each image's file into the pool and its sample, with the image's flags, into the dataset."""
    for done, image in enumerate(images, start=1):
        sample = samples[image.id]
        sample.path = copy_file(image.file.name, pool)
        sample.test, sample.real, sample.meta_data = image.test_image, image.real, image.meta_data
        dataset.samples.append(sample)
        if (done % 10 == 0 or done == len(images)) and not on_progress(done, len(images)):
            raise DatasetError("The export was stopped.")


def label_info(label: Any) -> LabelInfo:
    return LabelInfo(
        name=label.name,
        type=getattr(label, "type", ""),
        description=label.description,
        output_name=label.output_name,
        color=getattr(label, "color", ""),
        negative=bool(getattr(label, "negative_for_task_id", None)),
    )


def unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DatasetError(f"Two {what}s are named {name!r}; formats name them, so rename one first.")
        seen.add(name)


def recognition_samples(labels: list[Label]) -> tuple[list[TrainingImage], dict[Any, Sample]]:
    links = ImageLabel.objects.filter(label__in=labels).select_related("label").order_by("label__created", "label_id")
    samples: dict[Any, Sample] = {}
    for link in links:
        samples.setdefault(link.image_id, Sample(path="")).labels.append(LabelValue(link.label.name, link.value))
    images = TrainingImage.objects.filter(image_labels__label__in=labels).distinct().order_by("created", "id")
    return list(images), samples


def detection_samples(task: Any, labels: list[Any], dataset: Dataset) -> tuple[list[TrainingImage], dict[Any, Sample]]:
    objects = DetectionObject.objects.filter(detection_label__in=labels).order_by("created", "id")
    samples: dict[Any, Sample] = {}
    for obj, box in boxes_of(objects, dataset):
        samples.setdefault(obj.image_id, Sample(path="")).boxes.append(box)
    for image_id in task.negative_images.values_list("id", flat=True):  # no boxes: the task's "nothing here"
        samples.setdefault(image_id, Sample(path=""))
    images = TrainingImage.objects.filter(
        Q(detection_objects__detection_label__in=labels) | Q(negative_for_detection_tasks=task)
    ).distinct()
    return list(images.order_by("created", "id")), samples


def boxes_of(objects: QuerySet[DetectionObject], dataset: Dataset) -> list[tuple[DetectionObject, Box]]:
    """The objects, in their order, as boxes; the recognition labels on them become ``object_labels``."""
    on_objects: dict[Any, list[LabelValue]] = defaultdict(list)
    used: dict[Any, Label] = {}
    links = ObjectLabel.objects.filter(object__in=objects).select_related("label")
    for link in links.order_by("label__created", "id"):
        on_objects[link.object_id].append(LabelValue(link.label.name, link.value))
        used[link.label_id] = link.label
    unique([label.name for label in used.values()], "recognition label on box")
    dataset.object_labels = [label_info(label) for label in used.values()]
    found = []
    for obj in objects.select_related("detection_label"):
        xyxy = tuple(float(value) for value in obj.data)
        found.append((obj, Box(obj.detection_label.name, xyxy, obj.meta_data, on_objects[obj.id])))  # type: ignore[arg-type]
    return found


def copy_file(name: str, pool: Path) -> str:
    """Copy a stored file into the pool under a name made of its content; the name."""
    digest, part = hashlib.sha256(), pool / ".part"
    with default_storage.open(name, "rb") as source, part.open("wb") as target:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
    copy = f"{digest.hexdigest()[:20]}{Path(name).suffix.lower()}"
    part.replace(pool / copy)
    return copy
