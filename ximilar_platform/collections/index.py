"""Reading a collection's records: the per-process vector index, filters, and the fields to return.

A process's index of a collection is stamped with the collection's ``revision`` (raised by every
insert and delete); a search that reads another revision (another process changed the records)
rebuilds the index first, so every API process answers from current data. At most
``SEARCH_INDEX_CACHE_SIZE`` indexes stay in memory per process, least recently used dropped first.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import numpy as np
from django.conf import settings
from rest_framework.exceptions import NotFound, ValidationError

from inference.cache import ModelCache
from inference.vector_index import VectorIndex
from ximilar_platform.collections import filters
from ximilar_platform.collections.models import Collection, CollectionRecord

_cache: ModelCache[tuple[tuple, VectorIndex]] | None = None
_lock = threading.Lock()


def _build(collection_id: str) -> tuple[tuple, VectorIndex]:
    collection = Collection.objects.get(pk=collection_id)
    index = VectorIndex(collection.dimension or 1, hnsw_threshold=settings.SEARCH_HNSW_THRESHOLD)
    rows = list(CollectionRecord.objects.filter(collection=collection).values_list("key", "vector"))
    if rows:
        index.add([key for key, _ in rows], np.stack([np.frombuffer(bytes(v), dtype=np.float32) for _, v in rows]))
    return (collection.revision, collection.dimension), index


def index_for(collection: Collection) -> VectorIndex:
    """The process's index of the collection, rebuilt when the collection has another revision."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = ModelCache(settings.SEARCH_INDEX_CACHE_SIZE, _build)
    key = str(collection.id)
    stamp, index = _cache.get(key)
    if stamp != (collection.revision, collection.dimension):
        _cache.discard(key)
        stamp, index = _cache.get(key)
    return index


def nearest(collection: Collection, vector: np.ndarray, k: int, allowed: set[str] | None = None) -> list:
    """The ``k`` records nearest to a unit ``vector`` as (key, cosine distance), nearest first."""
    found = index_for(collection)
    if len(vector) != found.dimension:
        raise ValidationError(
            {"query_record": [f"The query has {len(vector)} dimensions; the collection {found.dimension}."]}
        )
    return found.search(vector[None], k, allowed=allowed)[0] if len(found) else []


def vector_of(collection: Collection, key: str) -> np.ndarray:
    try:
        vector = CollectionRecord.objects.values_list("vector", flat=True).get(collection=collection, key=key)
    except CollectionRecord.DoesNotExist as error:
        raise NotFound(f"No record with _id '{key}' in this collection.") from error
    return np.frombuffer(bytes(vector), dtype=np.float32)


def allowed_keys(collection: Collection, query: Any) -> set[str] | None:
    """The keys of the records a ``filter`` selects; None when there is no filter."""
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
    keys = (
        sorted(allowed)
        if allowed is not None
        else list(CollectionRecord.objects.filter(collection=collection).values_list("key", flat=True))
    )
    return random.sample(keys, min(count, len(keys)))
