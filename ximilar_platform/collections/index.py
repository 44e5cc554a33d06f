"""Reading a collection's records: the nearest vectors (by the backend SEARCH_BACKEND names), filters, and fields.

Both backends answer the same: cosine distances (1 - a.b of unit vectors), nearest first, exact
below ``SEARCH_HNSW_THRESHOLD`` records and through HNSW (M 32, efSearch 128) from it on.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from rest_framework.exceptions import NotFound, ValidationError

from ximilar_platform.collections import backends, filters
from ximilar_platform.collections.models import Collection, CollectionRecord


def _checked(collection: Collection, vector: np.ndarray) -> bool:
    """Whether the collection has vectors to compare with; a query of another dimension answers 400."""
    if collection.dimension is None:
        return False
    if len(vector) != collection.dimension:
        raise ValidationError(
            {"query_record": [f"The query has {len(vector)} dimensions; the collection {collection.dimension}."]}
        )
    return True


def nearest(collection: Collection, vector: np.ndarray, k: int, query: dict[str, Any] | None = None) -> list:
    """The ``k`` records nearest to a unit ``vector`` as (key, cosine distance), nearest first.

    ``query``: a checked ``filter`` (`filters.checked`) the records must match.
    """
    if not _checked(collection, vector):
        return []
    return backends.current().nearest(collection, vector, k, query)


def rank(collection: Collection, vector: np.ndarray, keys: list[str]) -> list:
    """The records of ``keys`` (unknown ones left out) by exact distance to ``vector``, nearest first."""
    if not _checked(collection, vector):
        return []
    return backends.current().rank(collection, vector, keys)


def vector_of(collection: Collection, key: str) -> np.ndarray:
    try:
        vector = CollectionRecord.objects.values_list("vector", flat=True).get(collection=collection, key=key)
    except CollectionRecord.DoesNotExist as error:
        raise NotFound(f"No record with _id '{key}' in this collection.") from error
    return np.frombuffer(bytes(vector), dtype=np.float32)


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


def allowed_keys(collection: Collection, query: Any) -> set[str] | None:
    """The keys of the records a ``filter`` selects (ValidationError if malformed); None when there is no filter."""
    query = filters.checked(query)
    return None if query is None else backends.current().allowed(collection, query)


def random_keys(collection: Collection, count: int, query: Any) -> list[str]:
    allowed = allowed_keys(collection, query)
    keys = (
        sorted(allowed)
        if allowed is not None
        else list(CollectionRecord.objects.filter(collection=collection).values_list("key", flat=True))
    )
    return random.sample(keys, min(count, len(keys)))
