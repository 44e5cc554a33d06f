"""``similarity/custom/v2/<operation>``: the search collection API of contract §4 (POST, ``collection-id`` header)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.images import DecodedImage, InvalidImage, decode_record
from ximilar_platform.images.storage import delete_files, image_limits, url_policy
from ximilar_platform.similarity import search
from ximilar_platform.similarity.models import Collection, CollectionRecord, Reembedding

OK = {"code": 200, "text": "OK"}
MOVING = ("The collection is moving to another embedder; a _descriptor of the current one would not match "
          "after the move. Insert images, or wait until the move ends.")


def answer(started: float, **fields: Any) -> Response:
    milliseconds = round((time.perf_counter() - started) * 1000, 2)
    return Response({"status": dict(OK), "statistics": {"OperationTime": milliseconds}, **fields})


def skipped(record: Any, code: int, text: str) -> dict[str, Any]:
    record = record if isinstance(record, dict) else {}
    return {**search.stored_fields(record), "_reason": {"status": {"code": code, "text": text}}}


def records_of(data: Mapping, limit: int) -> list:
    records = data.get("records")
    if not isinstance(records, list) or not records:
        raise ValidationError({"records": ["Give a non-empty list of records."]})
    if len(records) > limit:
        raise ValidationError({"records": [f"At most {limit} records per request; got {len(records)}."]})
    return records


def record_key(record: Any) -> str:
    key = record.get("_id") if isinstance(record, dict) else None
    if not isinstance(key, str | int) or isinstance(key, bool) or str(key) == "":
        raise ValueError("Every record needs an _id (a string).")
    return str(key)


def count_of(value: Any, name: str, default: int, maximum: int | None = None) -> int:
    """A positive integer parameter, at most ``maximum`` (SEARCH_MAX_K unless given)."""
    if value in (None, ""):
        return default
    maximum = maximum or settings.SEARCH_MAX_K
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise ValidationError({name: ["Expected an integer."]}) from error
    if not 0 < number <= maximum:
        raise ValidationError({name: [f"Expected 1 to {maximum}."]})
    return number


class SearchView(APIView):
    """One URL per operation; every operation is a POST with a JSON body (``ping`` takes none)."""

    def post(self, request: Request, operation: str) -> Response:
        handler: Callable | None = getattr(self, f"op_{operation}", None)
        if handler is None:
            raise NotFound(f"Unknown operation '{operation}'.")
        data = request.data if isinstance(request.data, Mapping) else {}
        return handler(request, data, time.perf_counter())

    def op_ping(self, request: Request, data: Mapping, started: float) -> Response:
        return answer(started)

    def op_insert(self, request: Request, data: Mapping, started: float) -> Response:
        records = records_of(data, settings.SEARCH_MAX_INSERT)
        with transaction.atomic():
            collection = search.collection_for(request, create=True)
            collection = Collection.objects.select_for_update().get(pk=collection.pk)
            search.pin_embedder(collection)
            moving = collection.reembeddings.filter(state__in=Reembedding.ACTIVE).exists()
            keys, vectors, fields, images, failed = [], [], [], [], []
            to_embed = []
            for record in records:
                try:
                    key = record_key(record)
                    if "_descriptor" in record:
                        if moving:
                            failed.append(skipped(record, 409, MOVING))
                            continue
                        vector = search.parse_descriptor(record["_descriptor"], collection)
                        collection.dimension = collection.dimension or len(vector)
                        keys.append(key), vectors.append(vector), fields.append(search.stored_fields(record))
                        images.append("")
                        continue
                    decoded = decode_record(record, image_limits(), url_policy())
                except InvalidImage as error:
                    failed.append(skipped(record, error.status, error.message))
                    continue
                except ValueError as error:
                    failed.append(skipped(record, 400, str(error)))
                    continue
                to_embed.append((key, decoded, record))
            try:
                if to_embed:
                    embedded = search.embed(collection, [decoded.image for _, decoded, _ in to_embed])
                    for (key, decoded, record), vector in zip(to_embed, embedded, strict=True):
                        collection.dimension = collection.dimension or len(vector)
                        if len(vector) != collection.dimension:
                            failed.append(skipped(record, 400, f"The image's descriptor has {len(vector)} numbers; this"
                                                               f" collection's vectors have {collection.dimension}."))
                            continue
                        keys.append(key), vectors.append(vector), fields.append(search.stored_fields(record))
                        images.append(search.keep_image(collection, decoded.image))
                if keys:
                    collection.save(update_fields=["dimension"])
                    search.save_records(collection, keys, np.stack(vectors), fields, images)
            except Exception:
                delete_files(images)  # nothing was stored: keep no copies either
                raise
        return answer(started, records=[{"_id": key} for key in keys], skipped_records=failed)

    def _query_vector(self, collection: Collection, data: Mapping) -> np.ndarray:
        query = data.get("query_record")
        if query is None and isinstance(data.get("records"), list) and data["records"]:
            query = data["records"][0]
        if not isinstance(query, dict):
            raise ValidationError({"query_record": ["Give a query_record with _id or an image."]})
        if "_descriptor" in query:
            try:
                return search.normalised(search.parse_descriptor(query["_descriptor"], collection)[None])[0]
            except ValueError as error:
                raise ValidationError({"query_record": [str(error)]}) from error
        if "_id" in query and not any(name in query for name in ("_url", "_base64", "base64", "_file")):
            return search.vector_of(collection, str(query["_id"]))
        decoded = decode_record(query, image_limits(), url_policy())
        if not isinstance(decoded, DecodedImage):  # pragma: no cover - decode_record raises instead
            raise ValidationError({"query_record": ["Unreadable image."]})
        return search.normalised(search.embed(collection, [decoded.image]))[0]

    def op_visualKNN(self, request: Request, data: Mapping, started: float) -> Response:  # noqa: N802
        collection = search.collection_for(request)
        k = count_of(data.get("k"), "k", 5)
        allowed = search.allowed_keys(collection, data.get("filter"))
        try:
            vector = self._query_vector(collection, data)
        except InvalidImage as error:
            raise ValidationError({"query_record": [error.message]}) from error
        index = search.index_for(collection)
        if len(vector) != index.dimension:
            raise ValidationError({"query_record": [f"The query has {len(vector)} dimensions; the collection "
                                                    f"{index.dimension}."]})
        hits = index.search(vector[None], k, allowed=allowed)[0] if len(index) else []
        keys = [key for key, _ in hits]
        records = search.fields_of(collection, keys, data.get("fields_to_return"))
        return answer(started, answer_records=[records[key] for key in keys],
                      answer_distances=[round(float(d), 6) for _, d in hits], answer_count=len(hits))

    def op_visualRankRecords(self, request: Request, data: Mapping, started: float) -> Response:  # noqa: N802
        collection = search.collection_for(request)
        try:
            keys = [record_key(record) for record in records_of(data, settings.SEARCH_MAX_K)]
        except ValueError as error:
            raise ValidationError({"records": [str(error)]}) from error
        try:
            vector = self._query_vector(collection, data)
        except InvalidImage as error:
            raise ValidationError({"query_record": [error.message]}) from error
        hits = search.index_for(collection).exact_search(vector[None], len(keys), allowed=set(keys))[0]
        found = [key for key, _ in hits]
        records = search.fields_of(collection, found, data.get("fields_to_return"))
        return answer(started, answer_records=[records[key] for key in found],
                      answer_distances=[round(float(d), 6) for _, d in hits], answer_count=len(hits))

    def op_random(self, request: Request, data: Mapping, started: float) -> Response:
        collection = search.collection_for(request)
        keys = search.random_keys(collection, count_of(data.get("count"), "count", 10), data.get("filter"))
        records = search.fields_of(collection, keys, data.get("fields_to_return"))
        return answer(started, answer_records=[records[key] for key in keys], answer_count=len(keys))

    def op_get(self, request: Request, data: Mapping, started: float) -> Response:
        collection = search.collection_for(request)
        keys, failed = self._keys(data)
        stored = set(CollectionRecord.objects.filter(collection=collection, key__in=keys).values_list("key", flat=True))
        failed += [skipped({"_id": key}, 404, "No record with this _id.") for key in keys if key not in stored]
        found = [key for key in keys if key in stored]
        records = search.fields_of(collection, found, data.get("fields_to_return") or ["*"])
        return answer(started, answer_records=[records[key] for key in found], answer_count=len(found),
                      skipped_records=failed)

    def op_update(self, request: Request, data: Mapping, started: float) -> Response:
        """Change records' fields (never their vector); the ``_id`` and image fields are kept as they are."""
        collection = search.collection_for(request)
        updated, failed = [], []
        with transaction.atomic():
            for record in records_of(data, settings.SEARCH_MAX_INSERT):
                try:
                    key = record_key(record)
                except ValueError as error:
                    failed.append(skipped(record, 400, str(error)))
                    continue
                row = CollectionRecord.objects.select_for_update().filter(collection=collection, key=key).first()
                if row is None:
                    failed.append(skipped(record, 404, "No record with this _id."))
                    continue
                row.fields = {**row.fields, **search.stored_fields(record)}
                row.save(update_fields=["fields", "updated"])
                updated.append(key)  # the index holds vectors only: no revision change
        records = search.fields_of(collection, updated, data.get("fields_to_return") or ["*"])
        return answer(started, records=[records[key] for key in updated], skipped_records=failed)

    def op_delete(self, request: Request, data: Mapping, started: float) -> Response:
        collection = search.collection_for(request)
        keys, failed = self._keys(data)
        stored = set(CollectionRecord.objects.filter(collection=collection, key__in=keys).values_list("key", flat=True))
        if stored:
            with transaction.atomic():
                gone = CollectionRecord.objects.filter(collection=collection, key__in=stored)
                search.forget_images(list(gone.values_list("image", flat=True)))
                gone.delete()
                search.touch(collection)
        failed += [skipped({"_id": key}, 404, "No record with this _id.") for key in keys if key not in stored]
        return answer(started, records=[{"_id": key} for key in keys if key in stored], skipped_records=failed)

    def op_allRecords(self, request: Request, data: Mapping, started: float) -> Response:  # noqa: N802
        """Pages of ``size`` records (``size=0`` or none: every record, for ``get_all_ids``)."""
        collection = search.collection_for(request)
        params = request.query_params
        size = 0 if params.get("size") in (None, "", "0") else count_of(params["size"], "size", 0, 10_000)
        page = count_of(params.get("page"), "page", 1, 10**9)
        allowed = search.allowed_keys(collection, data.get("filter"))
        keys = list(CollectionRecord.objects.filter(collection=collection).order_by("id").values_list("key", flat=True))
        if allowed is not None:
            keys = [key for key in keys if key in allowed]
        total = len(keys)
        if size:
            keys = keys[(page - 1) * size:page * size]
        records = search.fields_of(collection, keys, data.get("fields_to_return"))
        body: dict[str, Any] = {"answer_records": [records[key] for key in keys], "answer_count": total}
        if size and page * size < total:
            body["next"] = f"allRecords?size={size}&page={page + 1}"
        return answer(started, **body)

    @staticmethod
    def _keys(data: Mapping) -> tuple[list[str], list[dict]]:
        keys, failed = [], []
        for record in records_of(data, settings.SEARCH_MAX_INSERT):
            try:
                keys.append(record_key(record))
            except ValueError as error:
                failed.append(skipped(record, 400, str(error)))
        return keys, failed
