"""The pgvector backend: faiss's answers, tables that follow every write, stale tables rebuilt, dropped ones.

Runs in the session test_pgvector.py starts (a Postgres with pgvector, SEARCH_BACKEND=pgvector);
skipped in any other.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from ximilar_platform.collections import pgvector_backend
from ximilar_platform.collections.models import Collection

pytestmark = pytest.mark.skipif(
    not (django_settings.SEARCH_BACKEND == "pgvector" and connection.vendor == "postgresql"),
    reason="needs SEARCH_BACKEND=pgvector on a Postgres with pgvector (test_pgvector.py runs it so)",
)

SEARCH = "/similarity/custom/v2"
DIMENSION = 32


def vectors(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around count/20 centres, as embeddings of similar images cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(count // 20, 1), DIMENSION))
    found = centres[rng.integers(0, len(centres), count)] + 0.5 * rng.normal(size=(count, DIMENSION))
    return (found / np.linalg.norm(found, axis=1, keepdims=True)).astype(np.float32)


def post(api, operation: str, body: dict, collection: str = "vectors") -> dict:
    answer = api.post(f"{SEARCH}/{operation}", body, format="json", HTTP_COLLECTION_ID=collection)
    assert answer.status_code == 200, answer.json()
    return answer.json()


def insert(api, stored: np.ndarray, collection: str = "vectors", first: int = 0) -> None:
    records = [
        {"_id": f"r{first + i}", "_descriptor": v.tolist(), "shop": f"s{(first + i) % 5}", "price": first + i}
        | {"tags": ["a"] if (first + i) % 3 == 0 else ["b"]}
        for i, v in enumerate(stored)
    ]
    for start in range(0, len(records), 1000):
        post(api, "insert", {"records": records[start : start + 1000]}, collection)


def knn(api, query: np.ndarray, k: int, search_filter: dict | None = None, collection: str = "vectors") -> list:
    body = {"query_record": {"_descriptor": query.tolist()}, "k": k} | (
        {"filter": search_filter} if search_filter else {}
    )
    answer = post(api, "visualKNN", body, collection)
    return list(zip([r["_id"] for r in answer["answer_records"]], answer["answer_distances"], strict=True))


def table_rows(collection: Collection) -> dict[str, np.ndarray]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, embedding::text FROM {pgvector_backend.table_of(collection.pk)}")
        return {key: np.array([float(x) for x in text.strip("[]").split(",")]) for key, text in cursor.fetchall()}


FILTERS = [None, {"shop": "s1"}, {"price": {"$lt": 150}, "shop": {"$in": ["s2", "s3"]}}, {"tags": ["a"]}]


def test_exact_answers_are_faiss_answers(api, settings) -> None:
    stored, queries = vectors(600), vectors(12, seed=1)
    insert(api, stored)
    for search_filter in FILTERS:
        for query in queries:
            settings.SEARCH_BACKEND = "pgvector"
            by_pgvector = knn(api, query, 10, search_filter)
            settings.SEARCH_BACKEND = "faiss"
            by_faiss = knn(api, query, 10, search_filter)
            assert [key for key, _ in by_pgvector] == [key for key, _ in by_faiss]
            assert np.allclose([d for _, d in by_pgvector], [d for _, d in by_faiss], atol=2e-6)
    keys = [{"_id": f"r{i}"} for i in (5, 17, 99, 412, 598, 1000)]
    ranked = {}
    for backend in ("pgvector", "faiss"):
        settings.SEARCH_BACKEND = backend
        body = {"query_record": {"_id": "r17"}, "records": keys}
        answer = post(api, "visualRankRecords", body)
        ranked[backend] = ([r["_id"] for r in answer["answer_records"]], answer["answer_distances"])
    assert ranked["pgvector"][0] == ranked["faiss"][0] and ranked["pgvector"][0][0] == "r17"
    assert len(ranked["pgvector"][0]) == 5 and np.allclose(ranked["pgvector"][1], ranked["faiss"][1], atol=2e-6)


def test_hnsw_answers_match_exact_search(api, settings) -> None:
    settings.SEARCH_HNSW_THRESHOLD = 100  # 600 records: both backends search through HNSW
    stored, queries = vectors(600), vectors(20, seed=1)
    insert(api, stored)
    collection = Collection.objects.get(key="vectors")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [pgvector_backend.table_of(collection.pk)]
        )
        assert any("USING hnsw (embedding vector_ip_ops)" in d and "m='32'" in d for (d,) in cursor.fetchall())
    fields = [{"shop": f"s{i % 5}", "price": i} for i in range(len(stored))]
    for backend in ("pgvector", "faiss"):
        settings.SEARCH_BACKEND = backend
        found = total = 0
        for search_filter in (None, {"shop": "s1"}):
            allowed = np.array([search_filter is None or f["shop"] == "s1" for f in fields])
            for query in queries:
                similarity = np.where(allowed, stored @ query, -np.inf)
                exact = {f"r{i}" for i in np.argsort(-similarity)[:10]}
                hits = knn(api, query, 10, search_filter)
                found, total = found + len(exact & {key for key, _ in hits}), total + 10
                for key, distance in hits:  # every distance is the true cosine distance
                    assert abs(distance - (1 - float(stored[int(key[1:])] @ query))) < 1e-5
        assert found / total >= 0.95, (backend, found / total)
        few = knn(api, queries[0], 10, {"price": {"$in": [5, 77, 300]}})  # fewer matches than k
        assert sorted(key for key, _ in few) == ["r300", "r5", "r77"]


def test_writes_change_the_table_without_rebuilding_it(api, monkeypatch) -> None:
    stored = vectors(6)
    insert(api, stored[:5])  # the first insert creates the table
    collection = Collection.objects.get(key="vectors")
    assert sorted(table_rows(collection)) == ["r0", "r1", "r2", "r3", "r4"]

    def rebuild(collection: Collection) -> None:
        raise AssertionError("rebuilt")

    monkeypatch.setattr(pgvector_backend, "rebuild", rebuild)
    post(api, "insert", {"records": [{"_id": "r1", "_descriptor": stored[5].tolist()}]})  # replaced
    post(api, "delete", {"records": [{"_id": "r2"}]})
    post(api, "update", {"records": [{"_id": "r3", "price": 1}]})
    rows = table_rows(collection)
    assert sorted(rows) == ["r0", "r1", "r3", "r4"] and np.allclose(rows["r1"], stored[5], atol=1e-6)
    collection.refresh_from_db()
    assert collection.pgvector_revision == collection.revision
    assert knn(api, stored[5], 2)[0][0] == "r1" and knn(api, stored[2], 5)[0][0] != "r2"


def test_a_table_that_missed_writes_is_rebuilt_before_a_search(api, settings) -> None:
    stored = vectors(12)
    settings.SEARCH_BACKEND = "faiss"  # an install before its switch to pgvector
    insert(api, stored[:10])
    post(api, "delete", {"records": [{"_id": "r9"}]})
    settings.SEARCH_BACKEND = "pgvector"
    hits = knn(api, stored[3], 20)
    assert hits[0][0] == "r3" and sorted(key for key, _ in hits) == sorted(f"r{i}" for i in range(9))
    collection = Collection.objects.get(key="vectors")
    assert collection.pgvector_revision == collection.revision and len(table_rows(collection)) == 9

    settings.SEARCH_BACKEND = "faiss"  # back and forth: pgvector's table misses this insert
    insert(api, stored[10:], first=10)
    settings.SEARCH_BACKEND = "pgvector"
    out = io.StringIO()
    call_command("sync_search_vectors", stdout=out)
    assert "vectors" in out.getvalue() and "rebuilt" in out.getvalue()
    assert len(table_rows(collection)) == 11 and knn(api, stored[11], 1)[0][0] == "r11"


def test_a_deleted_collection_drops_its_table(api, django_capture_on_commit_callbacks) -> None:
    insert(api, vectors(3))
    collection = Collection.objects.get(key="vectors")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/similarity/training/v2/collection/{collection.pk}").status_code == 204
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [pgvector_backend.table_of(collection.pk)])
        assert cursor.fetchone() == (None,)
