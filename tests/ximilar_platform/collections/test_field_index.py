"""The field index decides every filter as the rules do, and the faiss backend keeps it current through writes."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from tests.ximilar_platform.collections import test_filters
from ximilar_platform.collections import faiss_backend, field_index, filters, index, services
from ximilar_platform.collections.field_index import FieldIndex
from ximilar_platform.collections.models import Collection

# values that tell JSON's rules apart: true is not 1, 1 is 1.0, strings by code point, huge integers exactly
VALUES: list[Any] = [
    None, True, False, 0, 1, 1.0, -0.0, 2, 2.5, -3, 10, "1", "a", "A", "b", "ab", "é", "ä", "", "a\x00",
    2**53, 2**53 + 1, 2**60, 10**400, -(2**70), float("inf"), float("-inf"), float("nan"),
    [1], [True], ["a"], [], {"k": 1}, {"k": True}, {},
]  # fmt: skip
BOUNDS: list[Any] = [0, 1, 1.5, 2, -3, "a", "ab", "b", "", "é", 2**53, 2**53 + 1, 2**60, 10**400, float("inf"), 1e300]
NAMES = ["p", "q", "r", "missing"]


def stored(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields every database keeps as JSON (Postgres refuses NaN, infinities and NUL characters)."""
    return {
        name: value
        for name, value in fields.items()
        if not (isinstance(value, float) and not np.isfinite(value))
        and not (isinstance(value, str) and "\x00" in value)
    }


def random_fields(rng: random.Random) -> dict[str, Any]:
    return {name: rng.choice(VALUES) for name in NAMES[:3] if rng.random() < 0.8}


def random_condition(rng: random.Random) -> Any:
    kind = rng.random()
    if kind < 0.35:
        return rng.choice(VALUES)
    if kind < 0.55:
        return {"$in": rng.sample(VALUES, rng.randint(0, 4))}
    operators = rng.sample(list(filters.COMPARISONS) + ["$in"], rng.randint(1, 3))
    return {op: rng.sample(VALUES, 2) if op == "$in" else rng.choice(BOUNDS) for op in operators}


def random_query(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for _ in range(rng.randint(0 if depth else 1, 2)):
        if depth < 2 and rng.random() < 0.3:
            query[rng.choice(["$and", "$or"])] = [random_query(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        else:
            query[rng.choice(NAMES)] = random_condition(rng)
    return query


def test_masks_match_the_rules_on_many_random_filters() -> None:
    rng = random.Random(0)
    records = [random_fields(rng) for _ in range(300)]
    fields = FieldIndex((str(row), record) for row, record in enumerate(records))
    checked = 0
    for _ in range(2000):
        query = random_query(rng)
        filters.check(query)
        expected = [filters.matches(record, query) for record in records]
        assert fields.mask(query).tolist() == expected, query
        checked += any(expected) and not all(expected)
    assert checked > 500  # most filters split the records: the comparison is not over trivial answers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"n": 1}, {"int", "float"}),
        ({"n": True}, {"true"}),
        ({"n": None}, {"null", "none"}),
        ({"n": {"$in": [None, "1"]}}, {"null", "none", "string"}),
        ({"n": {"$gte": 2**53 + 1}}, {"huge"}),
        ({"n": {"$lt": 2**53 + 1}}, {"int", "float", "float 2**53"}),
        ({"n": 2**53 + 1}, {"huge"}),
        ({"n": {"$lt": "2"}}, {"string"}),
        ({"n": [1]}, {"list"}),
    ],
)
def test_true_is_not_one_missing_is_null_and_huge_integers_stay_exact(query, expected) -> None:
    records: dict[str, dict[str, Any]] = {
        "int": {"n": 1},
        "float": {"n": 1.0},
        "true": {"n": True},
        "null": {"n": None},
        "none": {},
        "string": {"n": "1"},
        "huge": {"n": 2**53 + 1},
        "float 2**53": {"n": float(2**53)},
        "list": {"n": [1]},
    }
    assert FieldIndex(records.items()).selected(query) == expected


def test_a_column_keeps_only_the_arrays_its_values_need() -> None:
    fields = FieldIndex([("a", {"name": "x", "price": 1}), ("b", {"name": "y"}), ("c", {"name": "x"})])
    name, price = fields.columns["name"], fields.columns["price"]
    assert name.rows is None and name.numbers is None and name.strings == ["x", "y"]
    assert price.rows is not None and price.rows.tolist() == [0] and price.ranks is None
    assert name.kinds.dtype == np.int8 and not name.others and field_index.OTHER not in name.kinds


def descriptor(seed: int) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=4)
    return [float(v) for v in vector / np.linalg.norm(vector)]


@pytest.fixture
def collection(alice) -> Collection:
    return Collection.objects.create(workspace=alice.workspace, key="shop")


def fresh(collection: Collection) -> Collection:
    return Collection.objects.get(pk=collection.pk)


def searched(collection: Collection, query: dict[str, Any]) -> set[str]:
    hits = index.nearest(fresh(collection), np.asarray(descriptor(0), dtype=np.float32), 100, query)
    return {key for key, _ in hits}


def test_the_index_follows_inserts_updates_replacements_and_deletes(collection) -> None:
    services.insert_records(
        collection, [{"_id": f"r{i}", "_descriptor": descriptor(i), "shop": f"s{i % 3}", "price": i} for i in range(9)]
    )
    cheap = {"price": {"$lt": 4}}
    assert (
        searched(collection, {"shop": "s1"})
        == {"r1", "r4", "r7"}
        == index.allowed_keys(fresh(collection), {"shop": "s1"})
    )
    assert searched(collection, cheap) == {"r0", "r1", "r2", "r3"}

    vectors_before = faiss_backend.index_for(fresh(collection))
    services.update_records(collection, [{"_id": "r7", "shop": "s0"}, {"_id": "r2", "price": 40}])
    assert searched(collection, {"shop": "s1"}) == {"r1", "r4"} and searched(collection, cheap) == {"r0", "r1", "r3"}
    assert faiss_backend.index_for(fresh(collection)) is vectors_before  # an update rebuilds the fields only

    services.insert_records(
        collection,
        [
            {"_id": "r4", "_descriptor": descriptor(4), "shop": "s2"},
            {"_id": "new", "_descriptor": descriptor(20), "shop": "s1", "price": 1},
        ],
    )
    assert searched(collection, {"shop": "s1"}) == {"r1", "new"}
    assert searched(collection, {"price": None}) == {"r4"}  # replaced without a price

    services.delete_records(collection, ["r1", "r0"])
    assert searched(collection, {"shop": "s1"}) == {"new"} and searched(collection, cheap) == {"r3", "new"}
    assert index.allowed_keys(fresh(collection), {"shop": {"$in": ["s0", "s1"]}}) == {"r3", "r6", "r7", "new"}


def test_a_new_process_builds_the_same_index_from_the_database(collection, monkeypatch) -> None:
    rng = random.Random(1)
    records = [{"_id": str(i), "_descriptor": descriptor(i), **stored(random_fields(rng))} for i in range(60)]
    services.insert_records(collection, records)
    queries = [random_query(rng) for _ in range(40)]
    answers = [index.allowed_keys(fresh(collection), query) for query in queries]
    monkeypatch.setattr(faiss_backend, "_cache", None)  # what another process starts with
    for query, answer in zip(queries, answers, strict=True):
        assert index.allowed_keys(fresh(collection), query) == answer == filters.allowed_keys(collection, query)
        assert searched(collection, query) == answer


@pytest.mark.parametrize("query", test_filters.QUERIES, ids=[str(q) for q in test_filters.QUERIES])
def test_the_edge_cases_of_the_database_filters_too(query) -> None:
    fields = FieldIndex((str(number), record) for number, record in enumerate(test_filters.FIELDS))
    assert fields.selected(query) == test_filters.matching(query)
