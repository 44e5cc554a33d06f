"""Dataset imports and exports: started here (checked, queued as jobs), run by a worker.

An import's archive is an upload kept in storage until the job ends, or a URL the worker downloads
(``DATASET_MAX_BYTES``, ``DATASET_FETCH_TIMEOUT``, the SSRF rules of every URL download). An export
ends with its zip in storage: ``download_url`` is a signed URL on S3, else the authenticated
download view. The formats' library is imported by the worker only (`run_dataset_job`).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils.text import slugify
from rest_framework.exceptions import ValidationError

from inference.images import InvalidImage, UrlPolicy, fetch_url
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api.exceptions import PayloadTooLarge
from ximilar_platform.core.jobs import Heartbeat, failure_of, worker_name
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.catalog import FORMATS, Format, formats_for, shape_of
from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.detection.models import DetectionTask
from ximilar_platform.images import storage
from ximilar_platform.recognition.models import Task
from ximilar_platform.similarity.models import SimilarityTask

logger = logging.getLogger(__name__)
URL_LIMIT = DatasetJob._meta.get_field("url").max_length or 2000
TASK_MODELS: dict[str, type[TrainableTask]] = {
    TaskKind.RECOGNITION: Task,
    TaskKind.DETECTION: DetectionTask,
    TaskKind.SIMILARITY: SimilarityTask,
}


def format_named(name: Any, task: TrainableTask | None) -> Format:
    """The format, checked to serve ``task`` (when one is named)."""
    found = FORMATS.get(str(name or ""))
    if found is None:
        raise ValidationError({"format": [f"Choose one of {', '.join(FORMATS)}."]})
    task_type = getattr(task, "type", "")
    if task is not None and shape_of(task.task_kind, task_type) not in found.serves:
        served = ", ".join(item.name for item in formats_for(task.task_kind, task_type))
        message = f"A {task_type or task.task_kind} task is not exported or imported as {found.title}; use {served}."
        raise ValidationError({"format": [message]})
    return found


@transaction.atomic
def start_export(*, task: TrainableTask, format: str, by: Model | None) -> DatasetJob:
    format_named(format, task)
    job = DatasetJob.objects.create(
        workspace_id=task.workspace_id,
        direction=DatasetJob.Direction.EXPORT,
        format=format,
        task_kind=task.task_kind,
        task_id=task.id,
        name=task.name,
        created_by=by,
    )
    job.enqueue()
    return job


def start_import(
    *,
    workspace: Workspace,
    format: str,
    task: TrainableTask | None,
    by: Model | None,
    upload: File | None = None,
    url: str = "",
) -> DatasetJob:
    """Queue an import of an uploaded zip (kept in storage) or of a URL; into ``task`` or a new task."""
    chosen = format_named(format, task)
    if (upload is None) == (not url):
        raise ValidationError({"file": ["Send the zip as file, or give its url (one of the two)."]})
    if url and (len(url) > URL_LIMIT or urlsplit(url).scheme.lower() not in ("http", "https")):
        raise ValidationError({"url": [f"Give an http(s) URL of at most {URL_LIMIT} characters."]})
    if upload is not None and upload.size > settings.DATASET_MAX_BYTES:
        raise PayloadTooLarge(f"The archive is {upload.size} bytes; at most {settings.DATASET_MAX_BYTES} are taken.")
    kind = task.task_kind if task else (chosen.creates or ("", ""))[0]
    name = Path(upload.name if upload is not None else url.split("?")[0].rstrip("/")).stem
    stored = ""
    if upload is not None:
        stored = default_storage.save(f"datasets/{workspace.id}/uploads/{storage.new_stem()}.zip", upload)
    try:
        with transaction.atomic():
            job = DatasetJob.objects.create(
                workspace=workspace,
                direction=DatasetJob.Direction.IMPORT,
                format=format,
                task_kind=kind,
                task_id=task.id if task else None,
                name=name[:255],
                upload=stored,
                url=url,
                created_by=by,
            )
            job.enqueue()
    except BaseException:
        storage.delete_files([stored])
        raise
    return job


def run_dataset_job(*, job_id: str) -> None:
    """In a worker: claim the job and import or export, with a heartbeat; every failure fails the job."""
    job = DatasetJob.objects.filter(pk=job_id).first()
    if job is None or not job.start(worker=worker_name()):
        return
    job.report(done=0, total=0, errors=[])  # a retried job starts over
    try:
        with Heartbeat(job), tempfile.TemporaryDirectory(prefix="dataset-") as work:
            fields = (
                run_import(job, Path(work)) if job.direction == job.Direction.IMPORT else run_export(job, Path(work))
            )
        if not job.succeed(**fields):
            ended_meanwhile(job, fields)
    except DatasetError as error:
        job.report(errors=error.errors)
        job.fail(str(error))
    except Exception as error:
        logger.exception("Dataset job %s failed", job.id)
        job.fail(failure_of(error))


def ended_meanwhile(job: DatasetJob, fields: dict[str, Any]) -> None:
    """The job was cancelled (or failed by the sweep) after its last progress report: an export's zip
    goes; an import that was already stored stays, and the job says where it went."""
    if fields.get("archive"):
        storage.delete_files([fields["archive"]])
    elif fields.get("task_id"):
        DatasetJob.objects.filter(pk=job.pk).update(
            **fields, error=f"{job.error} The import had already been stored in the task; it was kept."
        )


def progress_of(job: DatasetJob) -> Any:
    return lambda done, total: job.report(done=done, total=total)


def run_import(job: DatasetJob, work: Path) -> dict[str, Any]:
    from ximilar_platform.datasets.pipeline import import_archive  # the formats' libraries: in workers only

    archive = work / "archive.zip"
    if job.url:
        archive.write_bytes(download(job.url))
    else:
        with default_storage.open(job.upload, "rb") as source, archive.open("wb") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
    task = TASK_MODELS[job.task_kind].objects.get(id=job.task_id) if job.task_id else None
    (work / "files").mkdir()
    task = import_archive(
        archive=archive,
        work=work / "files",
        format=job.format,
        workspace=job.workspace,
        task=task,
        name=job.name,
        by=job.created_by,
        on_progress=progress_of(job),
    )
    return {"task_kind": task.task_kind, "task_id": task.id}


def run_export(job: DatasetJob, work: Path) -> dict[str, Any]:
    from ximilar_platform.datasets.pipeline import export_archive

    task = TASK_MODELS[job.task_kind].objects.get(id=job.task_id)
    archive = export_archive(task=task, format=job.format, work=work, on_progress=progress_of(job))
    name = f"datasets/{job.workspace_id}/exports/{storage.new_stem()}/{slugify(task.name) or 'task'}-{job.format}.zip"
    with archive.open("rb") as file:
        stored = default_storage.save(name, File(file))
    return {"archive": stored}


def download(url: str) -> bytes:
    policy = UrlPolicy(
        timeout=settings.DATASET_FETCH_TIMEOUT,
        max_bytes=settings.DATASET_MAX_BYTES,
        allow_loopback=settings.URL_FETCH_ALLOW_LOOPBACK,
        allow_private=settings.URL_FETCH_ALLOW_PRIVATE,
    )
    try:
        return fetch_url(url, policy)
    except InvalidImage as error:
        raise DatasetError(f"The archive could not be downloaded: {error.message}.") from None


def download_url(job: DatasetJob, request: Any) -> str | None:
    """Where an ended export's zip is fetched: a signed URL on S3, else the authenticated download view."""
    if job.state != job.State.SUCCEEDED or not job.archive:
        return None
    if settings.AWS_STORAGE_BUCKET_NAME:
        return default_storage.url(job.archive)
    path = reverse("datasets-job-download", kwargs={"pk": job.id})
    return request.build_absolute_uri(path) if request is not None else path
