"""The vector search backend SEARCH_BACKEND names: what searches call, and what writes tell it.

Records (`CollectionRecord`) hold the vectors either way; a backend is an index derived from them.
Writers call `stored`, `deleted` and `replaced` inside their transaction, after raising the
collection's revision and holding its row lock.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from ximilar_platform.collections.faiss_backend import FaissBackend
from ximilar_platform.collections.models import Collection
from ximilar_platform.collections.pgvector_backend import NEEDS_POSTGRES, PgvectorBackend

Hits = list[tuple[str, float]]


class Backend(Protocol):
    def nearest(self, collection: Collection, vector: np.ndarray, k: int, query: dict[str, Any] | None) -> Hits:
        """The ``k`` nearest records matching a checked filter (None: any), nearest first."""
        ...

    def rank(self, collection: Collection, vector: np.ndarray, keys: list[str]) -> Hits:
        """The records of ``keys`` by exact distance, nearest first."""
        ...

    def allowed(self, collection: Collection, query: dict[str, Any]) -> set[str]:
        """The keys of the records a checked filter selects."""
        ...

    def stored(self, collection: Collection, keys: list[str], vectors: np.ndarray) -> None:
        """Records of ``keys`` were inserted or replaced with these unit vectors (N, D)."""
        ...

    def deleted(self, collection: Collection, keys: set[str]) -> None:
        """Records of ``keys`` were deleted."""
        ...

    def replaced(self, collection: Collection) -> None:
        """Every vector changed, maybe its dimension too (a re-embedding's switch)."""
        ...


BACKENDS: dict[str, Backend] = {"faiss": FaissBackend(), "pgvector": PgvectorBackend()}


def current() -> Backend:
    """The backend of SEARCH_BACKEND; pgvector on a database other than Postgres is refused."""
    if settings.SEARCH_BACKEND == "pgvector" and connection.vendor != "postgresql":
        raise ImproperlyConfigured(NEEDS_POSTGRES)
    return BACKENDS[settings.SEARCH_BACKEND]
