"""Moving a search collection to another embedder: its records' kept images are embedded again.

Vectors of two embedders do not compare, so a collection never mixes them: a worker writes the
target embedder's vector of every record beside the current one (``pending_vector``) while
searches go on with the current vectors; then, under the collection's row lock, the last records
(inserted meanwhile) are embedded and every record switches at once with the collection's task,
version and dimension. A failure clears the pending vectors and changes nothing that serves.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from ximilar_platform.collections import backends, embedders
from ximilar_platform.collections.models import Collection, CollectionRecord, Reembedding
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.core.jobs import Heartbeat, failure_of, worker_name
from ximilar_platform.images import storage
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs.models import ModelVersion

logger = logging.getLogger(__name__)


def latest(collection: Collection) -> Reembedding | None:
    return collection.reembeddings.order_by("-created").first()


@transaction.atomic
def start(*, collection: Collection, task: SimilarityTask | None, version: int | None) -> Reembedding | None:
    """Queue the move of a collection with records to ``task`` (None: the generic descriptor).

    ``version`` None means the task's production version now. Answers None when the collection
    already uses that embedder.
    """
    collection = Collection.objects.select_for_update().get(pk=collection.pk)
    Reembedding.fail_stale(collection.reembeddings.all())  # a dead worker's move must not block this one
    if collection.reembeddings.filter(state__in=Reembedding.ACTIVE).exists():
        raise Conflict("The collection is already moving to another embedder; wait until it finishes.")
    if task is not None:
        version = embedders.trained_version(task, version or task.production_version).version
    else:
        version = None
    if (collection.task_id, collection.version) == (task.id if task else None, version):
        return None
    without_image = collection.records.filter(image="").count()
    if without_image:
        reason = (
            f"{without_image} records of this collection were inserted as _descriptor (or without a kept "
            "image) and cannot be embedded again; delete them or create a new collection for the other embedder."
        )
        raise ValidationError({"task": [reason]})
    job = Reembedding.objects.create(
        collection=collection, task=task, version=version, total=collection.records.count()
    )
    job.enqueue()
    return job


def follow_task(task_id: uuid.UUID) -> None:
    """After a deploy: collections that follow the task's production version move to the one just deployed."""
    for collection in Collection.objects.filter(task_id=task_id, follow_production=True):
        follow_production(collection)


def follow_production(collection: Collection) -> None:
    """Move a collection that follows its task to the task's production version, if not there yet.

    A move already running follows again when it ends; a collection that cannot move (records
    without images) reports why in a failed re-embedding.
    """
    collection = Collection.objects.select_related("task").get(pk=collection.pk)
    task = collection.task
    if not collection.follow_production or task is None or task.production_version < 1:
        return
    if collection.version in (None, task.production_version):  # None: it pins at its first record
        return
    if not collection.records.exists():
        Collection.objects.filter(pk=collection.pk).update(version=task.production_version, dimension=None)
        return
    try:
        start(collection=collection, task=task, version=task.production_version)
    except Conflict:
        return
    except ValidationError as error:
        Reembedding.objects.create(
            collection=collection,
            task=task,
            version=task.production_version,
            state=Reembedding.State.FAILED,
            error=" ".join(messages(error.detail)),
            finished=timezone.now(),
        )


def messages(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [text for value in detail.values() for text in messages(value)]
    if isinstance(detail, list):
        return [text for value in detail for text in messages(value)]
    return [str(detail)]


def run(*, job_id: str) -> None:
    """Embed every record's kept image with the target embedder, then switch the collection.

    A job that is not pending (a redelivered message of a job that ran or runs elsewhere) is left alone.
    """
    job = Reembedding.objects.select_related("collection", "task").filter(pk=job_id).first()
    if job is None or not job.start(worker=worker_name()):
        return
    try:
        with Heartbeat(job):
            target = target_version(job)
            records = CollectionRecord.objects.filter(collection=job.collection, pending_vector__isnull=True)
            while batch := list(records.order_by("pk").values_list("pk", "image")[: settings.SEARCH_REEMBED_BATCH]):
                write_pending(job, batch, embed_kept(target, [image for _, image in batch]))
                job.report(done=F("done") + len(batch))
            switch(job, target)
    except Exception as error:
        logger.exception("Re-embedding %s failed", job.id)
        job.fail(failure_of(error))


def write_pending(job: Reembedding, batch: list[tuple[int, str]], vectors: np.ndarray) -> None:
    """Keep the target vectors of records whose image is still the one embedded (an insert may replace it)."""
    with transaction.atomic():
        Collection.objects.select_for_update().get(pk=job.collection_id)  # inserts wait for this write
        current = dict(CollectionRecord.objects.filter(pk__in=[pk for pk, _ in batch]).values_list("pk", "image"))
        rows = [
            CollectionRecord(pk=pk, pending_vector=vector.tobytes())
            for (pk, image), vector in zip(batch, vectors, strict=True)
            if current.get(pk) == image
        ]
        CollectionRecord.objects.bulk_update(rows, ["pending_vector"])


def target_version(job: Reembedding) -> ModelVersion | None:
    if job.version is None:
        return None
    if job.task is None:
        raise ValidationError("The target similarity task was deleted.")
    return embedders.trained_version(job.task, job.version)


def embed_kept(target: ModelVersion | None, names: list[str]) -> np.ndarray:
    for name in names:
        if not name:
            raise ValidationError("A record inserted as _descriptor cannot be embedded again.")
    vectors = embedders.embed_with(target, [storage.open_stored(name) for name in names])
    return embedders.normalised(vectors).astype(np.float32)


@transaction.atomic
def switch(job: Reembedding, target: ModelVersion | None) -> None:
    """Under the collection's lock: embed the records inserted meanwhile, then swap every vector.

    The job's row is locked first, so a cancel or the sweep cannot end it halfway through the swap.
    """
    if Reembedding.objects.select_for_update().get(pk=job.pk).state != Reembedding.State.RUNNING:
        raise ValidationError("The move was cancelled or failed while it ran.")
    collection = Collection.objects.select_for_update().get(pk=job.collection_id)
    leftovers = list(collection.records.filter(pending_vector__isnull=True).values_list("pk", "image"))
    if leftovers:
        vectors = embed_kept(target, [image for _, image in leftovers])
        CollectionRecord.objects.bulk_update(
            [
                CollectionRecord(pk=pk, pending_vector=vector.tobytes())
                for (pk, _), vector in zip(leftovers, vectors, strict=True)
            ],
            ["pending_vector"],
        )
    count = collection.records.update(vector=F("pending_vector"), pending_vector=None)
    first = collection.records.values_list("vector", flat=True).first()
    collection.task, collection.version = job.task if job.version is not None else None, job.version
    collection.dimension = len(bytes(first)) // 4 if first is not None else None
    collection.revision += 1
    collection.save(update_fields=["task", "version", "dimension", "revision"])
    backends.current().replaced(collection)
    job.succeed(done=count, total=count)
    transaction.on_commit(lambda: follow_production(collection))  # a deploy during the move
