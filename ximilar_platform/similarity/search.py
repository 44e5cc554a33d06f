"""Search collections: records live in the database; each process keeps a vector index rebuilt from them.

A process's index for a collection is stamped with the collection's ``revision``, which every
insert, update and delete raises; a search that reads another revision (another process
changed the records) rebuilds the index first, so every API process answers from current data.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from inference.images import decode_bytes, encode_image, resize_to_max_side
from inference.vector_index import VectorIndex
from ximilar_platform.accounts.services import ensure_default_workspace
from ximilar_platform.images import storage
from ximilar_platform.images.services import enqueue_file_deletion
from ximilar_platform.similarity import filters
from ximilar_platform.similarity.models import Collection, CollectionRecord, SimilarityTask
from ximilar_platform.training_jobs import serving
from ximilar_platform.training_jobs.models import ModelVersion, TaskKind
from ximilar_platform.training_jobs.predictors import predictor_for

IMAGE_FIELDS = {"_base64", "base64", "_file", "_img_data", "_descriptor", "noresize"}

_indexes: dict[str, tuple[tuple, VectorIndex]] = {}
_lock = threading.Lock()


def collection_for(request: Request, *, create: bool = False) -> Collection:
    """The collection the ``collection-id`` header names, in one of the user's workspaces.

    An insert into a name not seen before creates it in the user's default workspace; any other
    operation answers 404, as does a collection of a workspace the user is not a member of.
    """
    key = (request.headers.get("collection-id") or "").strip()
    if not key:
        raise ValidationError({"collection-id": ["Send the collection-id header."]})
    try:
        return named_collection(request, key)
    except NotFound:
        if not create:
            raise
    collection, _ = Collection.objects.get_or_create(workspace=ensure_default_workspace(user=request.user), key=key)
    return collection


def named_collection(request: Request, key: str) -> Collection:
    """A collection of one of the user's workspaces by its key (the default workspace's first)."""
    found = Collection.objects.filter(key=key, workspace__members=request.user).order_by(
        "-workspace__is_default", "created").first()
    if found is None:
        raise NotFound(f"Collection '{key}' not found.")
    return found


def embedder_version(collection: Collection) -> ModelVersion | None:
    """The similarity version whose embedder the collection uses; None: the generic descriptor."""
    if collection.task is None:
        return None
    return trained_version(collection.task, collection.version or collection.task.production_version)


def trained_version(task: SimilarityTask, number: int | None) -> ModelVersion:
    version = ModelVersion.objects.filter(task_kind=TaskKind.SIMILARITY, task_id=task.id, version=number).first()
    if version is None:
        raise ValidationError(f"The similarity task '{task}' has no trained version {number}.")
    return version


def pin_embedder(collection: Collection) -> None:
    """Fix a task-bound collection to the task's current production version before its first record.

    Vectors of different versions do not compare, so a later deploy never changes how single new
    records are embedded: the whole collection moves instead (`reembedding.follow_production`).
    """
    if collection.task is not None and collection.version is None and collection.task.production_version >= 1:
        collection.version = collection.task.production_version
        collection.save(update_fields=["version"])


def embed(collection: Collection, images: Sequence) -> np.ndarray:
    return embed_with(embedder_version(collection), images)


def embed_with(version: ModelVersion | None, images: Sequence) -> np.ndarray:
    """Vectors of images by a trained similarity version, or by the generic descriptor (None)."""
    if version is None:
        return np.asarray(serving.describe(list(images)), dtype=np.float32)
    return np.asarray(predictor_for(version).describe(list(images)), dtype=np.float32)


def keep_image(collection: Collection, image: Image.Image) -> str:
    """Store a reduced JPEG copy of an inserted image, so the collection can be re-embedded later."""
    side = settings.SEARCH_KEPT_IMAGE_SIDE
    if side <= 0:
        return ""
    data = encode_image(resize_to_max_side(image, side), quality=90)
    return storage.save_file("collections", collection.workspace_id, storage.new_stem(), "jpg", data)


def open_kept_image(name: str) -> Image.Image:
    with default_storage.open(name) as file:
        return decode_bytes(file.read(), storage.image_limits()).image


def parse_descriptor(value: Any, collection: Collection) -> np.ndarray:
    """A client-computed ``_descriptor``: a list of finite numbers of the collection's dimension."""
    if not isinstance(value, list) or not value or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise ValueError("_descriptor must be a non-empty list of numbers.")
    vector = np.asarray(value, dtype=np.float32)
    if not np.isfinite(vector).all():
        raise ValueError("_descriptor must contain finite numbers.")
    if collection.dimension and len(vector) != collection.dimension:
        raise ValueError(f"_descriptor has {len(vector)} numbers; this collection's vectors have "
                         f"{collection.dimension}.")
    return vector


def normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def stored_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in IMAGE_FIELDS}


def save_records(collection: Collection, keys: list[str], vectors: np.ndarray, fields: list[dict],
                 images: list[str]) -> None:
    """Insert or replace records (a key inserted again gets the new vector, fields and image), in bulk.

    ``images`` names each record's kept image ("" for a ``_descriptor``); replaced images are
    deleted once the transaction commits.
    """
    latest = {key: (vector.astype(np.float32).tobytes(), extra, image)
              for key, vector, extra, image in zip(keys, normalised(vectors), fields, images, strict=True)}
    existing = {r.key: r for r in CollectionRecord.objects.filter(collection=collection, key__in=list(latest))}
    now, replaced = timezone.now(), []
    for key, record in existing.items():
        replaced.append(record.image)
        record.vector, record.fields, record.image = latest[key]
        record.pending_vector, record.updated = None, now
    CollectionRecord.objects.bulk_update(list(existing.values()), ["vector", "fields", "image", "pending_vector",
                                                                   "updated"], batch_size=500)
    CollectionRecord.objects.bulk_create([
        CollectionRecord(collection=collection, key=key, vector=vector, fields=extra, image=image)
        for key, (vector, extra, image) in latest.items() if key not in existing
    ], batch_size=500)
    touch(collection)
    forget_images(replaced)


def forget_images(names: list[str]) -> None:
    """Delete kept images once the transaction that dropped their records commits."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: enqueue_file_deletion(names))


def touch(collection: Collection) -> None:
    """Record that the collection's records changed (indexes of other revisions rebuild)."""
    Collection.objects.filter(pk=collection.pk).update(revision=F("revision") + 1)


def index_for(collection: Collection) -> VectorIndex:
    """The process's index of the collection, rebuilt when the collection has another revision."""
    stamp = (collection.revision, collection.dimension)
    with _lock:
        cached = _indexes.get(str(collection.id))
        if cached and cached[0] == stamp:
            return cached[1]
    index = VectorIndex(collection.dimension or 1, hnsw_threshold=settings.SEARCH_HNSW_THRESHOLD)
    rows = list(CollectionRecord.objects.filter(collection=collection).values_list("key", "vector"))
    if rows:
        index.add([key for key, _ in rows], np.stack([np.frombuffer(bytes(v), dtype=np.float32) for _, v in rows]))
    with _lock:
        _indexes[str(collection.id)] = (stamp, index)
    return index


def vector_of(collection: Collection, key: str) -> np.ndarray:
    try:
        vector = CollectionRecord.objects.values_list("vector", flat=True).get(collection=collection, key=key)
    except CollectionRecord.DoesNotExist as error:
        raise NotFound(f"No record with _id '{key}' in this collection.") from error
    return np.frombuffer(bytes(vector), dtype=np.float32)


def allowed_keys(collection: Collection, query: Any) -> set[str] | None:
    if not query:
        return None
    filters.check(query)
    candidates = filters.narrow(CollectionRecord.objects.filter(collection=collection), query)
    return {key for key, fields in candidates.values_list("key", "fields") if filters.matches(fields, query)}


def fields_of(collection: Collection, keys: list[str], wanted: Any) -> dict[str, dict[str, Any]]:
    """The ``fields_to_return`` of each record (``_id`` always; ``*`` for all)."""
    if wanted is not None and not (isinstance(wanted, list) and all(isinstance(f, str) for f in wanted)):
        raise ValidationError({"fields_to_return": ["Give a list of field names."]})
    wanted = wanted or ["_id"]
    rows = dict(CollectionRecord.objects.filter(collection=collection, key__in=keys).values_list("key", "fields"))
    result = {}
    for key in keys:
        fields = rows.get(key, {})
        chosen = fields if "*" in wanted else {name: fields[name] for name in wanted if name in fields}
        result[key] = {**chosen, "_id": key}
    return result


def random_keys(collection: Collection, count: int, query: Any) -> list[str]:
    allowed = allowed_keys(collection, query)
    keys = sorted(allowed) if allowed is not None else list(
        CollectionRecord.objects.filter(collection=collection).values_list("key", flat=True))
    return random.sample(keys, min(count, len(keys)))
