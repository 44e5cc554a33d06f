"""Model artifacts in storage: published file by file, read back as a local directory.

Artifacts are immutable, so a non-local storage (S3) is copied once per version and host into
``ARTIFACT_CACHE_DIR``, which keeps at most ``ARTIFACT_CACHE_MAX_BYTES`` (least recently used out);
the local file storage is read in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage


def publish(local_dir: Path, prefix: str) -> list[str]:
    """Copy every file of ``local_dir`` under ``prefix``; the caller records the version afterwards."""
    names = []
    for path in sorted(local_dir.iterdir()):
        with path.open("rb") as handle:
            names.append(default_storage.save(f"{prefix}/{path.name}", File(handle, name=path.name)))
    return names


def remove(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def local_dir(prefix: str, names: list[str]) -> Path:
    """A local directory holding the artifact's files, downloading them once when storage is remote."""
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.path(prefix))
    target = settings.ARTIFACT_CACHE_DIR / prefix.replace("/", "_")
    if target.is_dir():
        os.utime(target)  # recently used: the last to be evicted
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".download-"))
    for name in names:
        with default_storage.open(name, "rb") as source, (staging / Path(name).name).open("wb") as sink:
            shutil.copyfileobj(source, sink)
    try:
        os.rename(staging, target)
    except OSError:  # another process finished the same download first
        shutil.rmtree(staging, ignore_errors=True)
    evict(keep=target)
    return target


def evict(*, keep: Path) -> list[Path]:
    """Delete the least recently used artifacts until the cache holds ``ARTIFACT_CACHE_MAX_BYTES``.

    A model already loaded keeps running from memory; one evicted while another process was about
    to load it is downloaded again, so eviction never breaks serving, it only costs a download.
    """
    limit = settings.ARTIFACT_CACHE_MAX_BYTES
    folders = [path for path in keep.parent.iterdir() if path.is_dir() and not path.name.startswith(".")]
    sizes = {path: sum(file.stat().st_size for file in path.iterdir() if file.is_file()) for path in folders}
    total, evicted = sum(sizes.values()), []
    for path in sorted(folders, key=lambda folder: folder.stat().st_mtime):
        if total <= limit:
            break
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)
            total -= sizes[path]
            evicted.append(path)
    return evicted


def local_copies(names: Iterable[str], work_dir: Path) -> dict[str, str]:
    """A local path for each stored file of a training, each file fetched once.

    With remote storage ``TRAINING_DOWNLOAD_THREADS`` files are fetched at a time: one GET after
    another made the download most of a GPU training's time (docs/DEPLOY.md, capacity model).
    django-storages' S3 backend keeps a connection per thread.
    """
    unique = list(dict.fromkeys(names))
    if isinstance(default_storage, FileSystemStorage) or settings.TRAINING_DOWNLOAD_THREADS <= 1:
        return {name: local_copy(name, work_dir) for name in unique}
    with ThreadPoolExecutor(settings.TRAINING_DOWNLOAD_THREADS, thread_name_prefix="download") as pool:
        return dict(zip(unique, pool.map(lambda name: local_copy(name, work_dir), unique), strict=True))


def local_copy(name: str, work_dir: Path) -> str:
    """A local path of a stored file, for training; copies only when storage is remote."""
    if isinstance(default_storage, FileSystemStorage):
        return default_storage.path(name)
    target = work_dir / "images" / name.replace("/", "_")
    target.parent.mkdir(parents=True, exist_ok=True)
    with default_storage.open(name, "rb") as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink)
    return str(target)
