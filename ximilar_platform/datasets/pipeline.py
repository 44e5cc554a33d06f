"""The steps of an import and an export, shared by the worker's jobs and the management commands.

This module imports the formats' libraries (supervision, OpenCV): only workers and commands load it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import Model

from inference.images import InvalidImage, decode_bytes
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.datasets.archives import ArchiveLimits, DatasetError, dataset_root, extract, write_zip
from ximilar_platform.datasets.converters import READERS, WRITERS
from ximilar_platform.datasets.exporter import snapshot
from ximilar_platform.datasets.groups import group_snapshot
from ximilar_platform.datasets.importer import Progress, Stopped, import_dataset
from ximilar_platform.images import storage
from ximilar_platform.similarity.models import SimilarityTask


def import_archive(
    *,
    archive: Path,
    work: Path,
    format: str,
    workspace: Workspace,
    task: TrainableTask | None,
    name: str,
    by: Model | None,
    on_progress: Progress,
) -> TrainableTask:
    """Unpack a zip (a folder is read as it is) and import it; raises `DatasetError`, nothing imported."""
    if archive.is_dir():
        root = archive
    else:
        extract(archive, work, archive_limits())
        root = dataset_root(work, folders_are_labels=format == "class_folders")
    dataset = READERS[format](root, screen_image)
    try:
        return import_dataset(
            dataset=dataset, root=root, workspace=workspace, task=task, name=name, by=by, on_progress=on_progress
        )
    except Stopped:
        raise DatasetError("The import was stopped; nothing was imported.") from None


def export_archive(*, task: TrainableTask, format: str, work: Path, on_progress: Progress) -> Path:
    """The task written in ``format`` and zipped, under ``work``."""
    pool, out = work / "pool", work / "out"
    pool.mkdir()
    out.mkdir()
    if isinstance(task, SimilarityTask):
        dataset = group_snapshot(task, pool, on_progress)
    else:
        dataset = snapshot(task, pool, on_progress)
    WRITERS[format](dataset, pool, out)
    archive = work / "export.zip"
    write_zip(out, archive)
    return archive


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(max_files=settings.DATASET_MAX_FILES, max_bytes=settings.DATASET_MAX_UNCOMPRESSED_BYTES)


def screen_image(path: Path) -> str | None:
    """Why our decoder refuses an image file (its limits, its formats), or None."""
    try:
        decode_bytes(path.read_bytes(), storage.image_limits())
    except InvalidImage as error:
        return f"unreadable image: {error.message}"
    return None
