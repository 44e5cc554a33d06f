"""Search collections with faiss (SEARCH_BACKEND=faiss, the default): an index of each collection in every API process.

A process's index of a collection is built from its records and stamped with the collection's
``revision`` (raised by every insert and delete); a search that reads another revision (another
process changed the records) rebuilds the index first, so every API process answers from current
data. At most ``SEARCH_INDEX_CACHE_SIZE`` indexes stay in memory per process, least recently used
dropped first. Writes need nothing more than the revision they raise.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from django.conf import settings

from inference.cache import ModelCache
from inference.vector_index import VectorIndex
from ximilar_platform.collections import filters
from ximilar_platform.collections.models import Collection, CollectionRecord

Hits = list[tuple[str, float]]

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


class FaissBackend:
    def nearest(self, collection: Collection, vector: np.ndarray, k: int, query: dict[str, Any] | None) -> Hits:
        found = index_for(collection)
        allowed = filters.allowed_keys(collection, query)
        return found.search(vector[None], k, allowed=allowed)[0] if len(found) else []

    def rank(self, collection: Collection, vector: np.ndarray, keys: list[str]) -> Hits:
        return index_for(collection).exact_search(vector[None], len(keys), allowed=set(keys))[0]

    def stored(self, collection: Collection, keys: list[str], vectors: np.ndarray) -> None:
        """Nothing to do: the revision the write raised has every process rebuild its index."""

    def deleted(self, collection: Collection, keys: set[str]) -> None:
        """As `stored`."""

    def replaced(self, collection: Collection) -> None:
        """As `stored`."""
