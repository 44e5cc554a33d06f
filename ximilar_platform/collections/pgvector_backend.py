"""Search collections inside Postgres with pgvector (SEARCH_BACKEND=pgvector): a table of vectors per collection.

Table ``collections_vectors_<collection id, hex>`` holds each record's ``key`` and its unit vector
``embedding vector(D)`` under an HNSW index by inner product (``vector_ip_ops``, the parameters of
`inference.vector_index`): distance ``1 + (a <#> b)`` is faiss's ``1 - a.b``. A table per collection
keeps each graph to one collection's vectors (a filtered search walks no other tenant's), gives it
the collection's dimension, and lets a collection be rebuilt or dropped as one table, while no API
process holds a copy of any vector.

The tables are derived, like faiss's indexes: `CollectionRecord` rows stay the vectors of record,
so no migration creates a table and SQLite or a Postgres without the extension migrate as before.
``Collection.pgvector_revision`` names the revision a table holds. A write of records updates the
table in its own transaction (under the collection's row lock) when it held the revision before
the write; a table that missed writes (made while SEARCH_BACKEND was faiss, or before the switch
to pgvector) is stale, and the next search rebuilds it from the records under that lock (COPY,
then one HNSW build). `manage.py sync_search_vectors` does that ahead of the first search.

Filters compile to SQL (`pgfilters`) joined on the records' fields; one that does not compile
selects its keys as the faiss backend does. Below ``SEARCH_HNSW_THRESHOLD`` records a search is
exact (no index scan), as faiss's is; from it on HNSW, with pgvector's iterative scan (relaxed
order, sorted after) under a filter, and an exact search again when that scan finds fewer than ``k``.
"""

from __future__ import annotations

import struct
import uuid
from itertools import islice
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, transaction
from django.db.models import F

from inference.vector_index import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M
from ximilar_platform.collections import filters, pgfilters
from ximilar_platform.collections.models import Collection, CollectionRecord

Hits = list[tuple[str, float]]

NEEDS_POSTGRES = "SEARCH_BACKEND=pgvector needs a PostgreSQL database (DATABASE_URL=postgres://...)."
NEEDS_EXTENSION = (
    "SEARCH_BACKEND=pgvector needs the pgvector extension in the database: install pgvector on the "
    "server and run CREATE EXTENSION vector; (as a superuser) in this database, or set SEARCH_BACKEND=faiss."
)
COPY_ROWS = 10_000  # records read and copied at a time by a rebuild
RECORDS = CollectionRecord._meta.db_table

# collection id -> (revision, records in its table up to SEARCH_HNSW_THRESHOLD), as this process last saw them
_seen: dict[str, tuple[int, int]] = {}


def table_of(collection_id: uuid.UUID | str) -> str:
    return f"collections_vectors_{uuid.UUID(str(collection_id)).hex}"


def extension_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        return cursor.fetchone() is not None


class PgvectorBackend:
    def nearest(self, collection: Collection, vector: np.ndarray, k: int, query: dict[str, Any] | None) -> Hits:
        table, size = _current_table(collection)
        join, where, parameters = "", "", []
        compiled = pgfilters.condition(query, "r.fields") if query else None
        if compiled is not None:
            join = f"JOIN {RECORDS} r ON r.collection_id = %s AND r.key = v.key"
            where, parameters = f"WHERE {compiled[0]}", [collection.pk, *compiled[1]]
        elif query:
            where, parameters = "WHERE v.key = ANY(%s)", [sorted(filters.allowed_keys(collection, query) or ())]
        selection = (join, where, parameters)
        exact = size < settings.SEARCH_HNSW_THRESHOLD
        hits = _search(table, vector, k, selection, exact=exact)
        if not exact and len(hits) < k:  # the iterative scan gave up first (pgvector's hnsw.max_scan_tuples)
            hits = _search(table, vector, k, selection, exact=True)
        return hits

    def rank(self, collection: Collection, vector: np.ndarray, keys: list[str]) -> Hits:
        table, _ = _current_table(collection)
        return _search(table, vector, len(keys), ("", "WHERE v.key = ANY(%s)", [keys]), exact=True)

    def allowed(self, collection: Collection, query: dict[str, Any]) -> set[str]:
        return filters.allowed_keys(collection, query) or set()

    def stored(self, collection: Collection, keys: list[str], vectors: np.ndarray) -> None:
        if not _advanced(collection):
            return
        table = table_of(collection.pk)
        if _dimension(table) != collection.dimension:  # none yet, or the former embedder's (emptied, then moved)
            rebuild(collection)
            return
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE key = ANY(%s)", [keys])
            _copy(cursor, table, keys, vectors)

    def deleted(self, collection: Collection, keys: set[str]) -> None:
        table = table_of(collection.pk)
        if _advanced(collection) and _dimension(table) is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE key = ANY(%s)", [sorted(keys)])

    def replaced(self, collection: Collection) -> None:
        rebuild(collection)


def rebuild(collection: Collection) -> None:
    """Replace the collection's table by one made from its records; the caller holds the collection's row lock."""
    if not extension_installed():
        raise ImproperlyConfigured(NEEDS_EXTENSION)
    table, dimension = table_of(collection.pk), collection.dimension
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        if dimension:
            cursor.execute(f"CREATE TABLE {table} (key text PRIMARY KEY, embedding vector({int(dimension)}) NOT NULL)")
            rows = CollectionRecord.objects.filter(collection_id=collection.pk).values_list("key", "vector")
            stream = rows.iterator(chunk_size=COPY_ROWS)  # a server-side cursor: a chunk in memory at a time
            while chunk := list(islice(stream, COPY_ROWS)):
                vectors = np.frombuffer(b"".join(bytes(vector) for _, vector in chunk), dtype=np.float32)
                _copy(cursor, table, [key for key, _ in chunk], vectors.reshape(len(chunk), dimension))
            cursor.execute(
                "SELECT set_config('maintenance_work_mem', %s, true)", [settings.SEARCH_PGVECTOR_BUILD_MEMORY]
            )
            cursor.execute(
                f"CREATE INDEX ON {table} USING hnsw (embedding vector_ip_ops)"
                f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
            )
    Collection.objects.filter(pk=collection.pk).update(pgvector_revision=F("revision"))


def sync(collection: Collection) -> bool:
    """Rebuild the collection's table if it is stale or missing; whether it was."""
    with transaction.atomic():
        locked = Collection.objects.select_for_update().get(pk=collection.pk)
        if locked.pgvector_revision == locked.revision and _dimension(table_of(locked.pk)) == locked.dimension:
            return False
        rebuild(locked)
        return True


def forget(sender: type[Collection], instance: Collection, using: str, **kwargs: Any) -> None:
    """After a collection's deletion commits (its own, or its workspace's), drop its table."""
    database, table = connections[using], table_of(instance.pk)  # now: Django clears the pk after the signal
    if database.vendor == "postgresql":
        transaction.on_commit(lambda: _drop(database, table), using)


def _drop(database: Any, table: str) -> None:
    with database.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _current_table(collection: Collection) -> tuple[str, int]:
    """The collection's table as of its revision (rebuilt first when stale), and its records up to the threshold."""
    table, seen = table_of(collection.pk), _seen.get(str(collection.pk))
    if seen is not None and seen[0] == collection.revision:
        return table, seen[1]
    if collection.pgvector_revision != collection.revision or _dimension(table) != collection.dimension:
        sync(collection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS bounded", [settings.SEARCH_HNSW_THRESHOLD]
        )
        (size,) = cursor.fetchone()
    _seen[str(collection.pk)] = (collection.revision, size)
    return table, size


def _advanced(collection: Collection) -> bool:
    """Move the table's revision to the one the write just raised; False if it did not hold the one before."""
    stamped = Collection.objects.filter(pk=collection.pk, pgvector_revision=F("revision") - 1)
    return stamped.update(pgvector_revision=F("revision")) == 1


def _dimension(table: str) -> int | None:
    """The dimension of the table's vectors; None when there is no such table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'embedding'", [table]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _search(table: str, vector: np.ndarray, k: int, selection: tuple[str, str, list], *, exact: bool) -> Hits:
    """``exact``: the index is not used, so every selected record is compared (ties by key)."""
    join, where, parameters = selection
    literal = "[" + ",".join(map(str, np.asarray(vector, dtype=np.float32).tolist())) + "]"
    order = "distance, v.key" if exact else "distance"
    sql = (
        f"SELECT v.key, v.embedding <#> %s::vector AS distance FROM {table} v {join} {where} ORDER BY {order} LIMIT %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('enable_indexscan', %s, true), set_config('hnsw.ef_search', %s, true),"
            " set_config('hnsw.iterative_scan', %s, true)",
            ["off" if exact else "on", str(max(HNSW_EF_SEARCH, k)), "relaxed_order" if where else "off"],
        )
        cursor.execute(sql, [literal, *parameters, k])
        # a relaxed iterative scan may answer slightly out of order (in exchange for recall: 0.98, not 0.94,
        # with a 1% filter at 100k records); the sort is stable, so exact ties stay by key
        return sorted(((key, 1.0 + distance) for key, distance in cursor.fetchall()), key=lambda hit: hit[1])


def _copy(cursor: Any, table: str, keys: list[str], vectors: np.ndarray) -> None:
    """COPY rows in Postgres's binary format (pgvector's: int16 dimension, int16 0, big-endian float4s)."""
    dimension = vectors.shape[1]
    head = struct.pack(">ihh", 4 + 4 * dimension, dimension, 0)
    rows = [b"PGCOPY\n\xff\r\n\x00", struct.pack(">ii", 0, 0)]
    for key, vector in zip(keys, vectors.astype(">f4"), strict=True):
        encoded = key.encode()
        rows.append(struct.pack(">hi", 2, len(encoded)) + encoded + head + vector.tobytes())
    rows.append(struct.pack(">h", -1))
    with cursor.copy(f"COPY {table} (key, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(b"".join(rows))
