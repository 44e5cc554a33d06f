"""Benchmark: visualKNN latency and recall of a search collection, against brute-force numpy.

Inserts N clustered, L2-normalised 128-d descriptors through ``similarity/custom/v2/insert``
(1000 per request), then runs ``visualKNN`` by ``_id`` (k=10) and compares with an exact numpy
search over the same vectors. Against a server started with ``make run``:

    .venv/bin/python bench/similarity_search.py --token <API token> --records 10000
    SEARCH_HNSW_THRESHOLD=... (server side) decides exact or HNSW search.

Reports end-to-end and server-side (statistics.OperationTime) p50/p95 in ms, numpy's p50/p95
for one query, and recall@10 of the answers.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import requests


def clustered(count: int, dimension: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(count // 50, 1), dimension))
    vectors = centres[rng.integers(len(centres), size=count)] + 0.35 * rng.normal(size=(count, dimension))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dimension", type=int, default=128)
    args = parser.parse_args()
    api = requests.Session()
    collection = f"bench-{args.records}-{int(time.time())}"
    api.headers.update({"Authorization": f"Token {args.token}", "collection-id": collection})
    url = args.endpoint.rstrip("/") + "/similarity/custom/v2/"
    vectors = clustered(args.records, args.dimension, seed=0)

    started = time.perf_counter()
    for start in range(0, args.records, 1000):
        batch = [
            {"_id": str(i), "_descriptor": vectors[i].tolist(), "n": i}
            for i in range(start, min(start + 1000, args.records))
        ]
        answer = api.post(url + "insert", json={"records": batch}).json()
        assert not answer["skipped_records"], answer["skipped_records"][:1]
    insert_seconds = time.perf_counter() - started
    api.post(url + "visualKNN", json={"query_record": {"_id": "0"}, "k": 10})  # builds this process's index

    rng = np.random.default_rng(1)
    queries = rng.choice(args.records, args.queries, replace=False)
    end_to_end, server, numpy_times, hits = [], [], [], 0
    for query in queries:
        t0 = time.perf_counter()
        answer = api.post(url + "visualKNN", json={"query_record": {"_id": str(query)}, "k": 10}).json()
        end_to_end.append(time.perf_counter() - t0)
        server.append(answer["statistics"]["OperationTime"] / 1000)
        t0 = time.perf_counter()
        scores = vectors @ vectors[query]
        exact = np.argpartition(-scores, 10)[:10]
        numpy_times.append(time.perf_counter() - t0)
        hits += len({int(r["_id"]) for r in answer["answer_records"]} & set(exact.tolist()))

    def ms(values: list[float], q: int) -> float:
        return round(float(np.percentile(values, q)) * 1000, 2)

    print(
        json.dumps(
            {
                "records": args.records,
                "dimension": args.dimension,
                "insert_seconds": round(insert_seconds, 1),
                "end_to_end_ms": {"p50": ms(end_to_end, 50), "p95": ms(end_to_end, 95)},
                "server_ms": {"p50": ms(server, 50), "p95": ms(server, 95)},
                "numpy_ms": {"p50": ms(numpy_times, 50), "p95": ms(numpy_times, 95)},
                "recall_at_10": round(hits / (10 * len(queries)), 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
