"""Benchmark: moving a search collection to another embedder (re-embedding its kept images).

Inserts N synthetic 256x256 JPEGs (noise over colour gradients, 100 per request) into a new
collection of the generic descriptor, then PATCHes its ``task`` to a trained similarity task and
polls ``reembedding`` until it ends, while a visualKNN by ``_id`` runs every 0.2 s to see that
searches go on during the move. Against a server started with ``make run``:

    .venv/bin/python bench/collection_reembedding.py --token <API token> --task <similarity task id> --records 2000

(`bench/similarity_retrieval.py` leaves a trained task on the server.) Prints one JSON summary:
insert seconds, move seconds (from the PATCH to ``succeeded``), records per second, and the
searches answered during the move with their p50 / p95 latency.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import time

import numpy as np
import requests
from PIL import Image


def picture(rng: np.random.Generator) -> str:
    ramp = np.linspace(0, 1, 256)[None, :, None] * rng.integers(0, 256, 3)[None, None, :]
    pixels = np.clip(ramp + rng.normal(0, 25, (256, 256, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--task", required=True, help="a trained similarity task to move to")
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    base = args.endpoint.rstrip("/") + "/"
    api = requests.Session()
    api.headers["Authorization"] = f"Token {args.token}"
    key = f"move-{args.records}-{int(time.time())}"
    collection = api.post(base + "similarity/training/v2/collection", json={"key": key}).json()
    rng = np.random.default_rng(0)

    started = time.perf_counter()
    for start in range(0, args.records, 100):
        batch = [{"_id": str(i), "_base64": picture(rng)} for i in range(start, min(start + 100, args.records))]
        answer = api.post(
            base + "similarity/custom/v2/insert", json={"records": batch}, headers={"collection-id": key}
        ).json()
        assert not answer["skipped_records"], answer["skipped_records"][:1]
    insert_seconds = time.perf_counter() - started

    started = time.perf_counter()
    moved = api.patch(base + f"similarity/training/v2/collection/{collection['id']}", json={"task": args.task})
    assert moved.status_code == 200, moved.text
    searches = []
    while True:
        t0 = time.perf_counter()
        hit = api.post(
            base + "similarity/custom/v2/visualKNN",
            json={"query_record": {"_id": "0"}, "k": 5},
            headers={"collection-id": key},
        )
        assert hit.status_code == 200, hit.text
        searches.append(time.perf_counter() - t0)
        state = api.get(base + f"similarity/training/v2/collection/{collection['id']}").json()
        if state["reembedding"]["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    move_seconds = time.perf_counter() - started
    milliseconds = np.array(searches) * 1000
    print(
        json.dumps(
            {
                "records": args.records,
                "insert_seconds": round(insert_seconds, 1),
                "move_state": state["reembedding"]["state"],
                "move_error": state["reembedding"]["error"],
                "move_seconds": round(move_seconds, 1),
                "records_per_second": round(args.records / move_seconds, 1),
                "dimension_after": state["dimension"],
                "version_after": state["version"],
                "searches_during_move": len(searches),
                "search_p50_ms": round(float(np.percentile(milliseconds, 50)), 1),
                "search_p95_ms": round(float(np.percentile(milliseconds, 95)), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
