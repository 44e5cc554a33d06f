"""Moving a search collection to another embedder: its records' kept images are embedded again.

Vectors of two embedders do not compare, so a collection never mixes them: a worker writes the
target embedder's vector of every record beside the current one (``pending_vector``) while
searches go on with the current vectors; then, under the collection's row lock, the last records
(inserted meanwhile) are embedded and every record switches at once with the collection's task,
version and dimension. A failure clears the pending vectors and changes nothing that serves.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.similarity import search
from ximilar_platform.similarity.models import Collection, CollectionRecord, Reembedding, SimilarityTask
from ximilar_platform.training_jobs.models import ModelVersion

logger = logging.getLogger(__name__)

LOST_WORKER = "The worker stopped responding; the collection kept its vectors. Start the move again."


def latest(collection: Collection) -> Reembedding | None:
    fail_stale(collection)
    return collection.reembeddings.order_by("-created").first()


def fail_stale(collection: Collection) -> None:
    """A running re-embedding whose worker stopped reporting is failed, so another can start."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER)
    for job in collection.reembeddings.filter(state=Reembedding.State.RUNNING, heartbeat__lt=cutoff):
        fail(job, LOST_WORKER)


@transaction.atomic
def start(*, collection: Collection, task: SimilarityTask | None, version: int | None) -> Reembedding | None:
    """Queue the move of a collection with records to ``task`` (None: the generic descriptor).

    ``version`` None means the task's production version now. Answers None when the collection
    already uses that embedder.
    """
    collection = Collection.objects.select_for_update().get(pk=collection.pk)
    fail_stale(collection)
    if collection.reembeddings.filter(state__in=Reembedding.ACTIVE).exists():
        raise Conflict("The collection is already moving to another embedder; wait until it finishes.")
    if task is not None:
        version = search.trained_version(task, version or task.production_version).version
    else:
        version = None
    if (collection.task_id, collection.version) == (task.id if task else None, version):
        return None
    without_image = collection.records.filter(image="").count()
    if without_image:
        raise ValidationError({"task": [
            f"{without_image} records of this collection were inserted as _descriptor (or without a kept image) "
            "and cannot be embedded again; delete them or create a new collection for the other embedder."]})
    job = Reembedding.objects.create(collection=collection, task=task, version=version,
                                     total=collection.records.count())
    transaction.on_commit(lambda: send(job))
    return job


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
        Reembedding.objects.create(collection=collection, task=task, version=task.production_version,
                                   state=Reembedding.State.FAILED, error=" ".join(messages(error.detail)),
                                   finished=timezone.now())


def messages(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [text for value in detail.values() for text in messages(value)]
    if isinstance(detail, list):
        return [text for value in detail for text in messages(value)]
    return [str(detail)]


def send(job: Reembedding) -> None:
    from ximilar_platform.similarity.jobs import reembed_collection

    try:
        reembed_collection.apply_async((str(job.id),), queue=settings.TRAINING_QUEUE)
    except Exception as error:  # kombu raises its own and socket errors once its retries are spent
        logger.exception("Re-embedding %s could not be queued", job.id)
        fail(job, f"The re-embedding could not be queued (message broker unreachable: {error}); try again later.")


def run(*, job_id: str) -> None:
    """Embed every record's kept image with the target embedder, then switch the collection."""
    claimed = Reembedding.objects.filter(pk=job_id, state=Reembedding.State.PENDING).update(
        state=Reembedding.State.RUNNING, started=timezone.now(), heartbeat=timezone.now())
    if not claimed:
        return  # a redelivered message of a job that already ran or runs elsewhere
    job = Reembedding.objects.select_related("collection", "task").get(pk=job_id)
    try:
        target = target_version(job)
        records = CollectionRecord.objects.filter(collection=job.collection, pending_vector__isnull=True)
        while batch := list(records.order_by("pk").values_list("pk", "image")[:settings.SEARCH_REEMBED_BATCH]):
            vectors = embed_kept(target, [image for _, image in batch])
            with transaction.atomic():
                Collection.objects.select_for_update().get(pk=job.collection_id)  # inserts wait for this write
                current = dict(CollectionRecord.objects.filter(pk__in=[pk for pk, _ in batch])
                               .values_list("pk", "image"))
                rows = [CollectionRecord(pk=pk, pending_vector=vector.tobytes())
                        for (pk, image), vector in zip(batch, vectors, strict=True) if current.get(pk) == image]
                CollectionRecord.objects.bulk_update(rows, ["pending_vector"])
            Reembedding.objects.filter(pk=job.pk).update(done=F("done") + len(batch), heartbeat=timezone.now())
        switch(job, target)
    except Exception as error:
        logger.exception("Re-embedding %s failed", job.id)
        fail(job, str(error) or error.__class__.__name__)


def target_version(job: Reembedding) -> ModelVersion | None:
    if job.version is None:
        return None
    if job.task is None:
        raise ValidationError("The target similarity task was deleted.")
    return search.trained_version(job.task, job.version)


def embed_kept(target: ModelVersion | None, names: list[str]) -> np.ndarray:
    for name in names:
        if not name:
            raise ValidationError("A record inserted as _descriptor cannot be embedded again.")
    vectors = search.embed_with(target, [search.open_kept_image(name) for name in names])
    return search.normalised(vectors).astype(np.float32)


@transaction.atomic
def switch(job: Reembedding, target: ModelVersion | None) -> None:
    """Under the collection's lock: embed the records inserted meanwhile, then swap every vector."""
    collection = Collection.objects.select_for_update().get(pk=job.collection_id)
    leftovers = list(collection.records.filter(pending_vector__isnull=True).values_list("pk", "image"))
    if leftovers:
        vectors = embed_kept(target, [image for _, image in leftovers])
        CollectionRecord.objects.bulk_update([CollectionRecord(pk=pk, pending_vector=vector.tobytes())
                                              for (pk, _), vector in zip(leftovers, vectors, strict=True)],
                                             ["pending_vector"])
    count = collection.records.update(vector=F("pending_vector"), pending_vector=None)
    first = collection.records.values_list("vector", flat=True).first()
    collection.task, collection.version = job.task if job.version is not None else None, job.version
    collection.dimension = len(bytes(first)) // 4 if first is not None else None
    collection.revision += 1
    collection.save(update_fields=["task", "version", "dimension", "revision"])
    Reembedding.objects.filter(pk=job.pk).update(state=Reembedding.State.SUCCEEDED, done=count, total=count,
                                                 finished=timezone.now())
    transaction.on_commit(lambda: follow_production(collection))  # a deploy during the move


def fail(job: Reembedding, error: str) -> None:
    with transaction.atomic():
        CollectionRecord.objects.filter(collection_id=job.collection_id).filter(pending_vector__isnull=False).update(
            pending_vector=None)
        Reembedding.objects.filter(pk=job.pk, state__in=Reembedding.ACTIVE).update(
            state=Reembedding.State.FAILED, error=error[:10000], finished=timezone.now())
