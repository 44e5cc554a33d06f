"""Benchmark: the cost of a ``filter`` in a search collection (selecting the allowed records).

In-process, against the database the settings name (a fresh one: it creates a user and a
collection), N records with fields {shop: 50 values, price: 0-999, name}:

    DATA_DIR=/tmp/fbench .venv/bin/python manage.py migrate -v0
    DATA_DIR=/tmp/fbench .venv/bin/python bench/search_filters.py --records 10000 100000
    DATABASE_URL=postgres://root@127.0.0.1:5432/fbench ... (the same on Postgres)

Prints the median of 5 runs, in ms, of the filter {"shop": "s3", "price": {"$lt": 500}} (an
equality the database narrows, then the exact rules) and of {"price": {"$lt": 500}} (a range
only, decided in Python over every record).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
django.setup()

from ximilar_platform.accounts.services import create_api_user  # noqa: E402
from ximilar_platform.similarity import search  # noqa: E402
from ximilar_platform.similarity.models import Collection, CollectionRecord  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    user, _ = create_api_user(username=f"bench-{time.time_ns()}")
    collection = Collection.objects.create(
        workspace=user.owned_workspaces.get(is_default=True), key="filters", dimension=128
    )
    vector = bytes(128 * 4)
    for count in args.records:
        CollectionRecord.objects.filter(collection=collection).delete()
        CollectionRecord.objects.bulk_create(
            [
                CollectionRecord(
                    collection=collection,
                    key=str(i),
                    vector=vector,
                    fields={"shop": f"s{i % 50}", "price": i % 1000, "name": f"product {i}"},
                )
                for i in range(count)
            ],
            batch_size=2000,
        )
        for query in ({"shop": "s3", "price": {"$lt": 500}}, {"price": {"$lt": 500}}):
            times = []
            for _ in range(5):
                started = time.perf_counter()
                allowed = search.allowed_keys(collection, query)
                times.append((time.perf_counter() - started) * 1000)
            print(f"{count} records, filter {query}: {len(allowed)} allowed, median {statistics.median(times):.1f} ms")
    collection.delete()


if __name__ == "__main__":
    main()
