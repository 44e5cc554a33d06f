"""A read dataset into the database: stage every image, then commit everything in one transaction.

Staging decodes each image with the upload path's decoder and limits and writes its files through
the ingestion service (downscaled, thumbnail, EXIF GPS gone, deduplicated by checksum), outside any
transaction, reporting progress. Only when every file is good does one short transaction create the
task (if new), the labels, the image rows, their labels and boxes (a similarity task's types,
member objects and groups: `groups`); any problem before or inside it
deletes the staged files, so a failed import leaves neither rows nor files (a killed worker's files
are the orphan sweep's). Rules, documented in the README:

- boxes are scaled with their image when it is downscaled, clipped to the image, and refused when
  nothing is left of them (or a coordinate is not a number);
- label names match exactly; a name the task lacks becomes a new label of the task;
- an image already in the workspace (same bytes) is reused: it gains the labels, boxes and test
  flag, keeps its meta_data; a box it already has is not added twice.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Model

from inference.images import InvalidImage, decode_bytes
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.catalog import shape_of
from ximilar_platform.datasets.groups import store_groups
from ximilar_platform.datasets.records import Box, Dataset, Sample
from ximilar_platform.datasets.store import create_task, store_rows
from ximilar_platform.images import storage
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.images.services import StoredFiles, existing_image_id, store_image_files
from ximilar_platform.similarity.models import SimilarityTask

MAX_ERRORS = 1000  # listed on the job; the count says how many there were
Progress = Callable[[int, int], bool]  # (done, total) -> False when the job should stop


class Stopped(Exception):
    """The job was cancelled (or failed by the sweep) while staging."""


@dataclass
class Staged:
    """One image file of the archive, as stored: a new file pair, or an image the workspace had."""

    width: int
    height: int
    scale: tuple[float, float]  # stored pixels per pixel of the archive's file
    files: StoredFiles | None = None
    image_id: uuid.UUID | None = None


def import_dataset(
    *,
    dataset: Dataset,
    root: Path,
    workspace: Workspace,
    task: TrainableTask | None,
    name: str,
    by: Model | None,
    on_progress: Progress,
) -> TrainableTask:
    """Store ``dataset`` (read from ``root``) into ``task``, or into a new task named ``name``."""
    if (
        task is not None
        and dataset.task
        and shape_of(dataset.kind, dataset.task_type) != shape_of(task.task_kind, getattr(task, "type", ""))
    ):
        raise DatasetError(f"The archive holds a {dataset.task_type or dataset.kind} task; this task is another kind.")
    if not dataset.samples and not dataset.errors:
        raise DatasetError("The archive holds no image in this format's layout (the README shows each layout).")
    errors = list(dataset.errors)
    staged: dict[str, Staged] = {}
    try:
        stage_images(dataset, root, workspace, staged, errors, on_progress)
        for sample in dataset.samples:
            if sample.path in staged:
                fit_boxes(sample, staged[sample.path], errors)
        if errors:
            raise DatasetError(f"{len(errors)} problems in the archive; nothing was imported.", errors[:MAX_ERRORS])
        with transaction.atomic():
            task = task or create_task(dataset=dataset, workspace=workspace, name=name)
            if isinstance(task, SimilarityTask):
                store_groups(dataset=dataset, task=task, staged=staged, by=by)
            else:
                store_rows(dataset=dataset, task=task, staged=staged, by=by)
        return task
    except IntegrityError:
        discard(staged)
        raise DatasetError("An image of the archive was uploaded meanwhile; run the import again.") from None
    except BaseException:
        discard(staged)
        raise


def stage_images(
    dataset: Dataset,
    root: Path,
    workspace: Workspace,
    staged: dict[str, Staged],
    errors: list[dict[str, str]],
    on_progress: Progress,
) -> None:
    by_checksum: dict[str, Staged] = {}
    paths = list(dict.fromkeys(sample.path for sample in dataset.samples))
    for done, path in enumerate(paths, start=1):
        file = root / path
        if not file.is_file():
            errors.append({"file": path, "error": "missing image file"})
        else:
            try:
                staged[path] = stage(file.read_bytes(), workspace, by_checksum)
            except InvalidImage as error:
                errors.append({"file": path, "error": f"unreadable image: {error.message}"})
        if (done % 10 == 0 or done == len(paths)) and not on_progress(done, len(paths)):
            raise Stopped


def stage(data: bytes, workspace: Workspace, by_checksum: dict[str, Staged]) -> Staged:
    checksum = hashlib.sha256(data).hexdigest()
    if checksum in by_checksum:  # the same file twice in the archive (an image in two class folders)
        return by_checksum[checksum]
    decoded = decode_bytes(data, storage.image_limits())
    width, height = decoded.image.size
    existing = existing_image_id(workspace=workspace, checksum=checksum)
    if existing:
        row = TrainingImage.objects.get(id=existing)
        found = Staged(row.width, row.height, (row.width / width, row.height / height), image_id=existing)
    else:
        files = store_image_files(workspace=workspace, decoded=decoded)
        found = Staged(files.width, files.height, (files.width / width, files.height / height), files=files)
    by_checksum[checksum] = found
    return found


def fit_boxes(sample: Sample, image: Staged, errors: list[dict[str, str]]) -> None:
    """Scale each box to the stored image and clip it to it; one with nothing left is an error."""
    fitted = []
    for number, box in enumerate(sample.boxes, start=1):
        if not all(math.isfinite(value) for value in box.xyxy):
            errors.append(
                {"file": sample.path, "error": f"box {number} ({box.label}) has a coordinate that is no number"}
            )
            continue
        sx, sy = image.scale
        xmin, xmax = sorted((clip(box.xyxy[0] * sx, image.width), clip(box.xyxy[2] * sx, image.width)))
        ymin, ymax = sorted((clip(box.xyxy[1] * sy, image.height), clip(box.xyxy[3] * sy, image.height)))
        if xmin >= xmax or ymin >= ymax:
            errors.append(
                {
                    "file": sample.path,
                    "error": f"box {number} ({box.label}) {list(box.xyxy)} lies outside the image or is empty",
                }
            )
            continue
        fitted.append(Box(box.label, (xmin, ymin, xmax, ymax), box.meta_data, box.labels))
    sample.boxes = fitted


def clip(value: float, limit: int) -> float:
    return round(min(max(value, 0.0), float(limit)), 2)


def discard(staged: dict[str, Staged]) -> None:
    """Delete the files staged for new images: no row names them (their transaction did not commit)."""
    names = {name for item in staged.values() if item.files for name in item.files.names}
    storage.delete_files(sorted(names))
