"""The vector index: exact results as numpy finds them, replace and remove, filters, and HNSW recall."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import faiss
import numpy as np
import pytest

from inference.vector_index import VectorIndex, recall_at_k

DIM = 16


@pytest.fixture(autouse=True)
def one_faiss_thread() -> Iterator[None]:
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


def unit(rng: np.random.Generator, count: int, dim: int = DIM) -> np.ndarray:
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def clustered(rng: np.random.Generator, count: int, dim: int, clusters: int) -> np.ndarray:
    centres = unit(rng, clusters, dim)
    points = centres[rng.integers(0, clusters, count)] + 0.15 * rng.normal(size=(count, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def brute_force(keys: list[str], vectors: np.ndarray, queries: np.ndarray, k: int) -> list[list[str]]:
    similarity = queries @ vectors.T
    return [[keys[j] for j in np.argsort(-row, kind="stable")[:k]] for row in similarity]


def test_exact_search_matches_numpy_with_cosine_distances() -> None:
    rng = np.random.default_rng(0)
    keys, vectors, queries = [f"v{i}" for i in range(300)], unit(rng, 300), unit(rng, 7)
    index = VectorIndex(DIM)
    index.add(keys, vectors * 3.0)  # stored normalised
    hits = index.search(queries, 5)
    assert len(index) == 300 and not index.approximate
    assert [[key for key, _ in row] for row in hits] == brute_force(keys, vectors, queries, 5)
    expected = 1.0 - np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :5]
    np.testing.assert_allclose([[d for _, d in row] for row in hits], expected, atol=1e-5)
    assert all(row == sorted(row, key=lambda hit: hit[1]) for row in hits)


def test_adding_a_key_again_replaces_its_vector_and_remove_forgets_it() -> None:
    index = VectorIndex(2)
    index.add(["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    index.add(["a"], np.array([[0.0, -1.0]]))
    assert len(index) == 3
    assert index.search(np.array([[1.0, 0.0]]), 1)[0][0][0] in {"b", "a"}
    assert index.search(np.array([[0.0, -1.0]]), 1)[0] == [("a", pytest.approx(0.0, abs=1e-6))]
    index.remove(["a", "unknown"])
    assert len(index) == 2
    assert [key for key, _ in index.search(np.array([[0.0, -1.0]]), 5)[0]] == ["c", "b"]
    index.remove(["b", "c"])
    assert len(index) == 0 and index.search(np.array([[0.0, 1.0]]), 3) == [[]]


def test_allowed_keys_restrict_the_results() -> None:
    rng = np.random.default_rng(1)
    keys, vectors, queries = [f"v{i}" for i in range(200)], unit(rng, 200), unit(rng, 4)
    index = VectorIndex(DIM)
    index.add(keys, vectors)
    allowed = {f"v{i}" for i in range(0, 200, 7)} | {"not-stored"}
    subset = [k for k in keys if k in allowed]
    expected = brute_force(subset, vectors[[keys.index(k) for k in subset]], queries, 3)
    assert [[key for key, _ in row] for row in index.search(queries, 3, allowed=allowed)] == expected
    assert index.search(queries[:1], 3, allowed={"v5"}) == [
        [("v5", pytest.approx(1 - float(queries[0] @ vectors[5]), abs=1e-5))]
    ]
    assert index.search(queries[:1], 3, allowed=set()) == [[]]


@pytest.mark.parametrize("threshold", [50_000, 100])
def test_allowed_rows_answer_as_the_keys_do_with_tombstones_left_out(threshold: int) -> None:
    rng = np.random.default_rng(2)
    keys, vectors, queries = [f"v{i}" for i in range(300)], unit(rng, 300), unit(rng, 4)
    index = VectorIndex(DIM, hnsw_threshold=threshold)
    index.add(keys, vectors)
    index.add(["v3"], unit(rng, 1))  # v3's first row is a tombstone now
    allowed = [key for key in keys if int(key[1:]) % 2 or key == "v3"] + ["not-stored"]
    rows = index.rows_of(allowed)
    assert rows[-1] == -1 and len(set(rows[:-1].tolist())) == len(allowed) - 1
    by_rows = index.search(queries, 20, allowed=np.concatenate([rows, rows[:5], [3]]))  # repeats, v3's old row
    assert by_rows == index.search(queries, 20, allowed=set(allowed))
    assert "v3" in {key for row in index.search(queries, 300, allowed=rows) for key, _ in row}


def test_hnsw_above_the_threshold_finds_nearly_all_true_neighbours() -> None:
    rng = np.random.default_rng(2)
    vectors = clustered(rng, 3000, 32, clusters=30)
    keys = [f"v{i}" for i in range(3000)]
    index = VectorIndex(32, hnsw_threshold=1000)
    index.add(keys[:500], vectors[:500])
    assert not index.approximate
    index.add(keys[500:], vectors[500:])
    assert index.approximate and len(index) == 3000
    queries = clustered(rng, 200, 32, clusters=30)
    assert recall_at_k(index, queries, 10) >= 0.95
    # tombstoned and filtered vectors are skipped on the approximate path too
    index.remove(keys[:100])
    found = {key for row in index.search(vectors[:100], 10) for key, _ in row}
    assert not found & set(keys[:100])
    allowed = set(keys[1000:2000])
    assert {key for row in index.search(queries[:20], 10, allowed=allowed) for key, _ in row} <= allowed
    index.remove(keys[100:2500])
    assert not index.approximate and len(index) == 500  # back under the threshold: exact again


def test_wrong_dimensions_are_refused_clearly() -> None:
    index = VectorIndex(DIM)
    with pytest.raises(ValueError, match=r"vectors must have shape \(N, 16\), not \(2, 8\)"):
        index.add(["a", "b"], np.ones((2, 8)))
    with pytest.raises(ValueError, match=r"queries must have shape \(N, 16\)"):
        index.search(np.ones(DIM), 1)
    with pytest.raises(ValueError, match="2 keys for 3 vectors"):
        index.add(["a", "b"], np.ones((3, DIM)))


def test_searches_run_while_another_thread_writes() -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex(DIM, hnsw_threshold=400)
    index.add([f"s{i}" for i in range(100)], unit(rng, 100))
    errors: list[BaseException] = []

    def write() -> None:
        for batch in range(10):
            index.add([f"w{batch}-{i}" for i in range(50)], unit(np.random.default_rng(batch), 50))
            index.remove([f"w{batch}-{i}" for i in range(0, 50, 5)])

    def read() -> None:
        try:
            for _ in range(30):
                assert all(len(row) == 5 for row in index.search(unit(np.random.default_rng(9), 3), 5))
        except BaseException as error:  # noqa: BLE001  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write), *(threading.Thread(target=read) for _ in range(2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(index) == 100 + 10 * 40


def test_search_survives_pytorch_metric_learning_patching_faiss() -> None:
    import faiss.contrib.torch_utils  # noqa: F401  # what pytorch_metric_learning.utils.inference imports

    index = VectorIndex(2)
    index.add(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]))
    index.remove(["b"])  # a tombstone: the search needs a selector
    assert [key for key, _ in index.search(np.array([[0.0, 1.0]]), 2)[0]] == ["a"]


def test_a_large_allowed_set_goes_through_faiss_with_the_same_answer() -> None:
    rng = np.random.default_rng(3)
    keys, vectors, queries = [f"v{i}" for i in range(12_000)], unit(rng, 12_000), unit(rng, 3)
    index = VectorIndex(DIM)
    index.add(keys, vectors)
    index.remove(["v0"])
    allowed = keys[::2]  # 6000 keys, half the index: a selector over faiss's own search, not a subset
    expected = [[key for key, _ in row] for row in index.exact_search(queries, 10, allowed=set(allowed))]
    by_keys, by_rows = (
        index.search(queries, 10, allowed=set(allowed)),
        index.search(queries, 10, allowed=index.rows_of(allowed)),
    )
    assert by_keys == by_rows and [[key for key, _ in row] for row in by_rows] == expected
    assert all(key != "v0" and int(key[1:]) % 2 == 0 for row in expected for key in row)
