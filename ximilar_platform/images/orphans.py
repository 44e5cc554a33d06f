"""Training-image files that no row names, and their removal.

An upload writes its two files before the row's transaction commits, so a process killed in
between (or an outer transaction rolled back) leaves files without a row; a deletion commits
the row's removal before a worker deletes the files, so a lost deletion job leaves them too.
Nothing ever leaves a row without its files. Every worker sweeps such files away
(``ORPHAN_FILE_SWEEP_SECONDS``; ``manage.py sweep_orphan_files`` by hand), but only those older
than ``ORPHAN_FILE_MIN_AGE``: a younger one may belong to an upload that has not committed yet.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from ximilar_platform.images.models import TrainingImage

logger = logging.getLogger(__name__)

FOLDERS = {"images": "file", "thumbs": "thumbnail"}  # storage folder -> the TrainingImage field naming its files
CHUNK = 500  # names looked up per query


def stored_names(folder: str) -> list[str]:
    """Every file under ``folder/<workspace id>/`` (the layout of ``storage.save_file``)."""
    try:
        workspaces, _ = default_storage.listdir(folder)
    except FileNotFoundError:  # nothing uploaded yet
        return []
    return [
        f"{folder}/{workspace}/{name}"
        for workspace in workspaces
        for name in default_storage.listdir(f"{folder}/{workspace}")[1]
    ]


def modified(name: str) -> datetime:
    """When the file was written; a file deleted meanwhile (by a deletion job) counts as new, so it is left."""
    try:
        return default_storage.get_modified_time(name)
    except FileNotFoundError:
        return timezone.now()


def sweep_orphan_files(*, older_than: float) -> list[str]:
    """Delete the training-image files older than ``older_than`` seconds that no row names; their names."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    removed = []
    for folder, field in FOLDERS.items():
        names = stored_names(folder)
        for start in range(0, len(names), CHUNK):
            chunk = names[start : start + CHUNK]
            named = set(TrainingImage.objects.filter(**{f"{field}__in": chunk}).values_list(field, flat=True))
            for name in sorted(set(chunk) - named):
                if modified(name) < cutoff:
                    default_storage.delete(name)
                    removed.append(name)
    if removed:
        logger.warning("Deleted %d training-image files no row named (older than %g s)", len(removed), older_than)
    return removed
