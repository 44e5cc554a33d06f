"""Search collections with faiss (SEARCH_BACKEND=faiss, the default): an index of each collection in every API process.

A process's index of a collection is built from its records and stamped with the collection's
``revision`` (raised by every insert and delete); a search that reads another revision (another
process changed the records) rebuilds the index first, so every API process answers from current
data. Beside the vectors, the first filtered search builds a `field_index` of the records' fields,
stamped with the revision and ``fields_revision`` (raised by every update of fields, which leaves
the vectors as they are), so a filter is a numpy mask over the records, handed to faiss as rows.
At most ``SEARCH_INDEX_CACHE_SIZE`` collections stay in memory per process, least recently used
dropped first. Writes need nothing more than the revisions they raise.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from django.conf import settings

from inference.cache import ModelCache
from inference.vector_index import VectorIndex
from ximilar_platform.collections.field_index import FieldIndex
from ximilar_platform.collections.models import Collection, CollectionRecord

Hits = list[tuple[str, float]]


class Held:
    """A collection as one process holds it: its vectors, and its fields once a filter needs them."""

    def __init__(self, collection_id: str) -> None:
        collection = Collection.objects.get(pk=collection_id)  # the stamp first: the rows are at least as new
        self.id, self.stamp = collection_id, (collection.revision, collection.dimension)
        self.vectors = VectorIndex(collection.dimension or 1, hnsw_threshold=settings.SEARCH_HNSW_THRESHOLD)
        rows = list(CollectionRecord.objects.filter(collection=collection).values_list("key", "vector"))
        if rows:
            vectors = np.stack([np.frombuffer(bytes(v), dtype=np.float32) for _, v in rows])
            self.vectors.add([key for key, _ in rows], vectors)
        self._fields: tuple[tuple[int, int], FieldIndex, np.ndarray] | None = None
        self._lock = threading.Lock()

    def fields(self, collection: Collection) -> tuple[FieldIndex, np.ndarray]:
        """The field index as of the collection's revisions, and the vector row of each of its records."""
        with self._lock:
            if self._fields is None or self._fields[0] != (collection.revision, collection.fields_revision):
                stamp = Collection.objects.values_list("revision", "fields_revision").get(pk=self.id)
                records = CollectionRecord.objects.filter(collection_id=self.id).values_list("key", "fields")
                fields = FieldIndex(records.iterator(chunk_size=10_000))
                self._fields = (stamp, fields, self.vectors.rows_of(fields.keys))
            return self._fields[1], self._fields[2]


_cache: ModelCache[Held] | None = None
_lock = threading.Lock()


def held(collection: Collection) -> Held:
    """The process's copy of the collection, rebuilt when the collection has another revision."""
    global _cache
    with _lock:
        if _cache is None:
            _cache = ModelCache(settings.SEARCH_INDEX_CACHE_SIZE, Held)
    key = str(collection.id)
    found = _cache.get(key)
    if found.stamp != (collection.revision, collection.dimension):
        _cache.discard(key)
        found = _cache.get(key)
    return found


def index_for(collection: Collection) -> VectorIndex:
    """The process's vector index of the collection."""
    return held(collection).vectors


class FaissBackend:
    def nearest(self, collection: Collection, vector: np.ndarray, k: int, query: dict[str, Any] | None) -> Hits:
        found = held(collection)
        if not len(found.vectors):
            return []
        allowed = None
        if query is not None:
            fields, rows = found.fields(collection)
            allowed = rows[fields.mask(query)]
        return found.vectors.search(vector[None], k, allowed=allowed)[0]

    def rank(self, collection: Collection, vector: np.ndarray, keys: list[str]) -> Hits:
        return index_for(collection).exact_search(vector[None], len(keys), allowed=set(keys))[0]

    def allowed(self, collection: Collection, query: dict[str, Any]) -> set[str]:
        return held(collection).fields(collection)[0].selected(query)

    def stored(self, collection: Collection, keys: list[str], vectors: np.ndarray) -> None:
        """Nothing to do: the revision the write raised has every process rebuild its index."""

    def deleted(self, collection: Collection, keys: set[str]) -> None:
        """As `stored`."""

    def replaced(self, collection: Collection) -> None:
        """As `stored`."""
