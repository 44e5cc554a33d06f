"""Filters narrowed by the database, or compiled to Postgres SQL, select exactly the records the rules match."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.conftest import need
from ximilar_platform.collections import filters, pgfilters
from ximilar_platform.collections.models import Collection, CollectionRecord

FIELDS: list[dict[str, Any]] = [
    {"shop": "a", "price": 10, "in": "x"},
    {"shop": "a", "price": 10.0, "tags": ["red"]},
    {"shop": "b", "price": "10", "a__b": 1, "odd key": "é\"'"},
    {"shop": "A", "price": True, "in": 1},
    {"shop": None, "price": 1},
    {"price": 20, "nested": {"k": 1}},
    {"shop": "c", "price": 1.5, "odd key": "é\"'"},
    {"shop": "B", "price": False, "nested": [1]},
    {"shop": "ä", "price": -3, "nested": 5},
]
QUERIES = [
    {"shop": "a"},
    {"price": 10},
    {"price": 1},
    {"price": True},
    {"price": "10"},
    {"shop": {"$in": ["a", "b"]}},
    {"price": {"$in": [10, 1.5]}},
    {"shop": "a", "price": {"$gt": 5}},
    {"$and": [{"shop": {"$in": ["a", "c"]}}, {"price": {"$lt": 11}}]},
    {"$or": [{"shop": "b"}, {"price": 20}]},
    {"in": "x"},
    {"in": 1},
    {"a__b": 1},
    {"odd key": "é\"'"},
    {"shop": None},
    {"nested": {"k": 1}},
    {"tags": ["red"]},
    {"missing": "a"},
    {"price": {"$lt": 10}},
    {"price": {"$lte": 10}},
    {"price": {"$gt": 1, "$lte": 20}},
    {"price": {"$gte": 1.5}},
    {"price": {"$lt": "2"}},
    {"shop": {"$gte": "B"}},
    {"shop": {"$lt": "a"}},
    {"nested": {"$gt": 0}},
    {"$or": [{"price": {"$lt": 2}}, {"shop": "b"}], "shop": {"$in": ["A", "b", None]}},
    {"price": {"$in": [None, 20, True]}},
    {"shop": {"$in": []}},
    {"price": {"$gt": 1e400}},
]
NOT_COMPILED = [{"nested": {"k": 1}}, {"tags": ["red"]}, {"price": {"$gt": 1e400}}]  # the faiss way instead


@pytest.fixture
def collection(alice) -> Collection:
    collection = Collection.objects.create(workspace=alice.workspace, key="k", dimension=2)
    CollectionRecord.objects.bulk_create(
        [
            CollectionRecord(collection=collection, key=str(number), vector=b"\0" * 8, fields=fields)
            for number, fields in enumerate(FIELDS)
        ]
    )
    return collection


def matching(query: dict) -> set[str]:
    return {str(number) for number, fields in enumerate(FIELDS) if filters.matches(fields, query)}


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_narrowed_filters_match_the_rules(collection, query) -> None:
    assert filters.allowed_keys(collection, query) == matching(query)


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_compiled_filters_match_the_rules(collection, query) -> None:
    need(connection.vendor == "postgresql", "SQL for Postgres's jsonb (the pgvector backend's): no Postgres database")
    compiled = pgfilters.condition(query, "fields")
    assert (compiled is None) == (query in NOT_COMPILED)
    if compiled is not None:
        sql, parameters = compiled
        with connection.cursor() as cursor:
            table = CollectionRecord._meta.db_table
            cursor.execute(f"SELECT key FROM {table} WHERE collection_id = %s AND {sql}", [collection.pk, *parameters])
            assert {key for (key,) in cursor.fetchall()} == matching(query)


def test_true_is_not_one() -> None:
    assert not filters.matches({"n": True}, {"n": 1}) and filters.matches({"n": 1}, {"n": 1.0})
    assert filters.matches({"n": True}, {"n": {"$in": [True]}})
    assert not filters.matches({"n": 1}, {"n": {"$in": [True]}})
