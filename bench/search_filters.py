"""Benchmark: the cost of a ``filter`` in a search collection, the database's way and the field index's, side by side.

In-process, against the database the settings name (a fresh one: it creates a user and a
collection), N records with random unit 128-d vectors and fields {shop: 1 of 50, price: 0-999,
name: unique}:

    DATA_DIR=/tmp/fbench .venv/bin/python manage.py migrate -v0
    DATA_DIR=/tmp/fbench .venv/bin/python bench/search_filters.py --records 10000 100000

For each filter, ``--runs`` rounds (before and after alternate within a round, so both see the
same machine), medians in ms:

- select: the keys a filter allows. Before: `filters.allowed_keys` (the database narrows by
  equality, ``$in`` and number bounds, then every candidate's JSON is checked in Python: the faiss
  backend's way until issue 16, the pgvector backend's for filters it cannot compile). After:
  `index.allowed_keys` through the faiss backend's field index.
- search: a visualKNN's work (k = 10) with that filter. Before: those keys into the vector index
  (`baseline_nearest`); after: `index.nearest` (a mask handed to faiss as rows).

Also printed: the field index's one-off build (the first filtered search after a write), and
that before and after answer the same keys.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
django.setup()

from ximilar_platform.accounts.services import create_api_user  # noqa: E402
from ximilar_platform.collections import faiss_backend, filters, index  # noqa: E402
from ximilar_platform.collections.models import Collection, CollectionRecord  # noqa: E402

FILTERS: list[dict[str, Any]] = [
    {"shop": "s3", "price": {"$lt": 500}},  # 1%: an equality the database narrows
    {"price": {"$lt": 500}},  # half: a bound
    {"$or": [{"shop": {"$in": ["s1", "s2"]}}, {"name": {"$gte": "product 5"}}]},  # 57%: strings, $or
]


def baseline_nearest(collection: Collection, vector: np.ndarray, k: int, query: dict[str, Any]) -> list:
    """The faiss backend's search before issue 16: the allowed keys from the database, then the index."""
    allowed = filters.allowed_keys(collection, query)
    return faiss_backend.index_for(collection).search(vector[None], k, allowed=allowed)[0]


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def fill(collection: Collection, count: int, rng: np.random.Generator) -> None:
    CollectionRecord.objects.filter(collection=collection).delete()
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    CollectionRecord.objects.bulk_create(
        [
            CollectionRecord(
                collection=collection,
                key=str(i),
                vector=vectors[i].tobytes(),
                fields={"shop": f"s{i % 50}", "price": i % 1000, "name": f"product {i}"},
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    Collection.objects.filter(pk=collection.pk).update(revision=collection.revision + 1)
    collection.refresh_from_db()


def compared(collection: Collection, query: dict[str, Any], vector: np.ndarray, runs: int) -> dict[str, float]:
    """Median ms of the selection and the search, before and after; asserts that both answer the same."""
    times: dict[str, list[float]] = {"select before": [], "select after": [], "search before": [], "search after": []}
    for _ in range(runs):
        spent, old = timed(lambda: filters.allowed_keys(collection, query))
        times["select before"].append(spent)
        spent, new = timed(lambda: index.allowed_keys(collection, query))
        times["select after"].append(spent)
        assert old == new, "the field index answers other keys than the database"
        spent, old_hits = timed(lambda: baseline_nearest(collection, vector, 10, query))
        times["search before"].append(spent)
        spent, new_hits = timed(lambda: index.nearest(collection, vector, 10, query))
        times["search after"].append(spent)
        assert [key for key, _ in old_hits] == [key for key, _ in new_hits]
    return {"allowed": len(new), **{name: statistics.median(values) for name, values in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    user, _ = create_api_user(username=f"bench-{time.time_ns()}")
    collection = Collection.objects.create(
        workspace=user.owned_workspaces.get(is_default=True), key="filters", dimension=128
    )
    rng = np.random.default_rng(0)
    vector = rng.normal(size=128).astype(np.float32)
    vector /= np.linalg.norm(vector)
    for count in args.records:
        fill(collection, count, rng)
        faiss_backend.index_for(collection)  # the vectors, built once per revision either way
        build, _ = timed(lambda: faiss_backend.held(collection).fields(collection))
        print(f"{count} records: field index built in {build:.0f} ms")
        for query in FILTERS:
            m = compared(collection, query, vector, args.runs)
            print(
                f"  {query}: {m['allowed']} allowed; select {m['select before']:.1f} -> {m['select after']:.2f} ms"
                f" ({m['select before'] / m['select after']:.0f}x), search {m['search before']:.1f}"
                f" -> {m['search after']:.2f} ms ({m['search before'] / m['search after']:.0f}x)"
            )
    collection.delete()


if __name__ == "__main__":
    main()
