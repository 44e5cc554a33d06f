"""An in-memory nearest-neighbour index of L2-normalised vectors under string keys (faiss).

Distances are cosine distances, 1 - cosine similarity (in [0, 2], 0 for the same direction):
the index stores unit vectors and searches by inner product. Below `hnsw_threshold` vectors
the search is exact (`IndexFlatIP`: under 1 ms a query at 100k x 128-d, ../shared/docs/ML_STACK.md
§5); at or above it, approximate (`IndexHNSWFlat`, M 32, efConstruction 100, efSearch 128).

HNSW cannot delete, so removed and replaced vectors stay in the faiss index as tombstones,
skipped with an ID selector, until they are a quarter of it; then the index is rebuilt from
the stored vectors. Metadata filters run upstream and arrive as `allowed` keys, or as the rows
`rows_of` gave for them (no per-key lookup per search): a small set (up to `EXACT_ALLOWED`, or
under a tenth of the index) is searched exactly among just those vectors, a larger one through
the index with a selector.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence, Set

import faiss
import numpy as np

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 128
EXACT_ALLOWED = 4096
TOMBSTONE_FRACTION = 0.25

Hits = list[list[tuple[str, float]]]


class VectorIndex:
    """Vectors under unique keys; any number of threads may search while one writes (one lock guards all)."""

    def __init__(self, dimension: int, *, hnsw_threshold: int = 50_000) -> None:
        if dimension < 1:
            raise ValueError(f"dimension must be positive, not {dimension}")
        self.dimension, self.hnsw_threshold = dimension, hnsw_threshold
        self._lock = threading.Lock()
        # row i is faiss id i; the buffer doubles when full, so adding one vector costs no full copy
        self._vectors = np.zeros((0, dimension), dtype=np.float32)
        self._keys: list[str | None] = []  # None marks a tombstone
        self._dead: set[int] = set()
        self._rows: dict[str, int] = {}
        self._index: faiss.Index = faiss.IndexFlatIP(dimension)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def approximate(self) -> bool:
        """Whether searches go through HNSW (else they are exact)."""
        return isinstance(self._index, faiss.IndexHNSWFlat)

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store `vectors` (N, D) under `keys`, replacing the vectors of keys already present.

        Vectors are L2-normalised here (zero vectors stay zero). A key repeated within one
        call keeps its last vector.
        """
        vectors = self._checked(vectors, "vectors")
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        last = {key: i for i, key in enumerate(keys)}
        keys, vectors = list(last), vectors[list(last.values())]
        with self._lock:
            self._bury(keys)
            start = len(self._keys)
            if start + len(vectors) > len(self._vectors):
                grown = np.zeros((max(2 * len(self._vectors), start + len(vectors)), self.dimension), np.float32)
                grown[:start] = self._vectors[:start]
                self._vectors = grown
            self._vectors[start : start + len(vectors)] = vectors
            self._keys.extend(keys)
            self._rows.update((key, start + i) for i, key in enumerate(keys))
            if self.approximate == (len(self._rows) >= self.hnsw_threshold):
                self._index.add(vectors)
            else:
                self._rebuild()

    def remove(self, keys: Iterable[str]) -> None:
        """Forget `keys`; unknown keys are ignored."""
        with self._lock:
            self._bury(keys)
            if self.approximate and len(self._rows) < self.hnsw_threshold:
                self._rebuild()

    def rows_of(self, keys: Sequence[str]) -> np.ndarray:
        """The row of each key (-1: unknown), to pass to `search` as ``allowed`` until the next `add` or `remove`."""
        with self._lock:
            rows = self._rows
            return np.fromiter((rows.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))

    def search(self, queries: np.ndarray, k: int, allowed: Set[str] | np.ndarray | None = None) -> Hits:
        """The `k` nearest stored keys of each query, nearest first, as (key, cosine distance).

        Args:
            queries: (Q, D); normalised here.
            k: Results per query; fewer when fewer vectors (or allowed keys) are stored.
            allowed: When given, only these keys may be returned (unknown keys are ignored), or
                only these rows of `rows_of` (-1 ignored).
        """
        queries = self._checked(queries, "queries")
        with self._lock:
            if allowed is not None:
                live = self._allowed_mask(allowed)
                rows = np.flatnonzero(live)
                if len(rows) <= EXACT_ALLOWED or len(rows) * 10 < len(self._rows):
                    return self._exact(queries, k, rows)
                bitmap = np.packbits(live, bitorder="little")  # a bit per row: no hash set of the rows to build
                return self._faiss(queries, k, faiss.IDSelectorBitmap(len(live), faiss.swig_ptr(bitmap)))
            if self._dead:
                dead = faiss.IDSelectorBatch(np.fromiter(self._dead, dtype=np.int64))
                return self._faiss(queries, k, faiss.IDSelectorNot(dead))
            return self._faiss(queries, k, None)

    def exact_search(self, queries: np.ndarray, k: int, allowed: set[str] | None = None) -> Hits:
        """As `search`, always by brute force over the stored vectors (the reference for `recall_at_k`)."""
        queries = self._checked(queries, "queries")
        with self._lock:
            keys = self._rows if allowed is None else (key for key in allowed if key in self._rows)
            rows = np.array(sorted(self._rows[key] for key in keys), dtype=np.int64)
            return self._exact(queries, k, rows)

    def _allowed_mask(self, allowed: Set[str] | np.ndarray) -> np.ndarray:
        """Whether each row is allowed and alive, from allowed keys or rows. Holds the lock."""
        live = np.zeros(len(self._keys), dtype=bool)
        if isinstance(allowed, np.ndarray):
            live[allowed[allowed >= 0]] = True
            if self._dead:
                live[np.fromiter(self._dead, dtype=np.int64)] = False
        else:
            live[[self._rows[key] for key in allowed if key in self._rows]] = True
        return live

    def _checked(self, array: np.ndarray, name: str) -> np.ndarray:
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.dimension:
            raise ValueError(f"{name} must have shape (N, {self.dimension}), not {array.shape}")
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        return np.ascontiguousarray(array / np.maximum(norms, 1e-12))

    def _bury(self, keys: Iterable[str]) -> None:
        """Tombstone the rows of `keys`; rebuild once tombstones are too many. Holds the lock."""
        for key in keys:
            row = self._rows.pop(key, None)
            if row is not None:
                self._keys[row] = None
                self._dead.add(row)
        if len(self._keys) - len(self._rows) > TOMBSTONE_FRACTION * max(len(self._keys), 1):
            self._rebuild()

    def _rebuild(self) -> None:
        """Drop tombstones and rebuild faiss's index, HNSW at or above the threshold. Holds the lock."""
        alive = [row for row, key in enumerate(self._keys) if key is not None]
        self._vectors = np.ascontiguousarray(self._vectors[alive])
        self._keys = [self._keys[row] for row in alive]
        self._rows = {key: row for row, key in enumerate(self._keys) if key is not None}
        self._dead = set()
        if len(self._rows) >= self.hnsw_threshold:
            self._index = faiss.IndexHNSWFlat(self.dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            self._index = faiss.IndexFlatIP(self.dimension)
        if len(self._vectors):
            self._index.add(self._vectors)

    def _faiss(self, queries: np.ndarray, k: int, selector: faiss.IDSelector | None) -> Hits:
        k = min(k, len(self._rows))
        if k <= 0 or not len(queries):
            return [[] for _ in queries]
        if self.approximate:
            # faiss's bundled stubs lack the SWIG parameter classes and their keyword arguments
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k), sel=selector)  # type: ignore[attr-defined]
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None  # type: ignore[call-arg]
        similarities, ids = _search(self._index, queries, k, params)
        return [
            [(self._keys[i], float(1.0 - s)) for s, i in zip(row_s, row_i, strict=True) if i >= 0]
            for row_s, row_i in zip(similarities, ids, strict=True)
        ]

    def _exact(self, queries: np.ndarray, k: int, rows: np.ndarray) -> Hits:
        k = min(k, len(rows))
        if k <= 0:
            return [[] for _ in queries]
        similarities = queries @ self._vectors[rows].T
        top = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
        hits = []
        for query, candidates in zip(similarities, top, strict=True):
            ranked = candidates[np.lexsort((rows[candidates], -query[candidates]))]
            hits.append([(self._keys[rows[j]], float(1.0 - query[j])) for j in ranked])
        return hits


def _search(
    index: faiss.Index, queries: np.ndarray, k: int, params: faiss.SearchParameters | None
) -> tuple[np.ndarray, np.ndarray]:
    """`index.search(queries, k, params=params)` through the SWIG call underneath it.

    pytorch-metric-learning imports `faiss.contrib.torch_utils`, which replaces `Index.search`
    process-wide with a version that takes no `params`, so selectors would fail wherever
    training and serving share a process.
    """
    similarities = np.empty((len(queries), k), dtype=np.float32)
    ids = np.empty((len(queries), k), dtype=np.int64)
    index.search_c(  # type: ignore[attr-defined]
        len(queries), faiss.swig_ptr(queries), k, faiss.swig_ptr(similarities), faiss.swig_ptr(ids), params
    )
    return similarities, ids


def recall_at_k(index: VectorIndex, vectors: np.ndarray, k: int) -> float:
    """The share of the exact k nearest neighbours of `vectors` that `index.search` also returns."""
    approximate, exact = index.search(vectors, k), index.exact_search(vectors, k)
    found = sum(len({key for key, _ in a} & {key for key, _ in e}) for a, e in zip(approximate, exact, strict=True))
    return found / max(sum(len(e) for e in exact), 1)
