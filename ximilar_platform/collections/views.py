"""``similarity/custom/v2/<operation>`` (contract §4, POST with a ``collection-id`` header), collections CRUD,
and descriptors by a collection's embedder."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.images import InvalidImage
from ximilar_platform.accounts.usage import count_records
from ximilar_platform.collections import embedders, filters, index, reembedding, services
from ximilar_platform.collections.models import Collection, CollectionRecord
from ximilar_platform.collections.openapi import OPERATIONS, SEARCH_PARAMETERS, search_body
from ximilar_platform.collections.serializers import CollectionSerializer
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.serving.openapi import task_body
from ximilar_platform.serving.requests import Batch, decode_or_error, decode_records, parse_records
from ximilar_platform.serving.responses import respond
from ximilar_platform.similarity import descriptor

OK = {"code": 200, "text": "OK"}


def answer(started: float, **fields: Any) -> Response:
    milliseconds = round((time.perf_counter() - started) * 1000, 2)
    return Response({"status": dict(OK), "statistics": {"OperationTime": milliseconds}, **fields})


def records_of(data: Mapping, limit: int) -> list:
    records = data.get("records")
    if not isinstance(records, list) or not records:
        raise ValidationError({"records": ["Give a non-empty list of records."]})
    if len(records) > limit:
        raise ValidationError({"records": [f"At most {limit} records per request; got {len(records)}."]})
    return records


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


def keys_of(data: Mapping) -> tuple[list[str], list[dict]]:
    """The ``_id`` of each record, and the records without a usable one."""
    keys, failed = [], []
    for record in records_of(data, settings.SEARCH_MAX_INSERT):
        try:
            keys.append(services.record_key(record))
        except ValueError as error:
            failed.append(services.skipped(record, 400, str(error)))
    return keys, failed


def query_vector(collection: Collection, data: Mapping) -> np.ndarray:
    """The unit vector to search with: a record's ``_id``, a ``_descriptor`` or an image."""
    query = data.get("query_record")
    if query is None and isinstance(data.get("records"), list) and data["records"]:
        query = data["records"][0]
    if not isinstance(query, dict):
        raise ValidationError({"query_record": ["Give a query_record with _id or an image."]})
    if "_descriptor" in query:
        try:
            return embedders.normalised(embedders.parse_descriptor(query["_descriptor"], collection)[None])[0]
        except ValueError as error:
            raise ValidationError({"query_record": [str(error)]}) from error
    if "_id" in query and not any(name in query for name in ("_url", "_base64", "base64", "_file")):
        return index.vector_of(collection, str(query["_id"]))
    decoded = decode_or_error(query)
    if isinstance(decoded, InvalidImage):
        raise ValidationError({"query_record": [decoded.message]})
    return embedders.normalised(embedders.embed(collection, [decoded.image]))[0]


class SearchView(APIView):
    """One URL per operation; every operation is a POST with a JSON body (``ping`` takes none)."""

    takes_images = True  # bodies of image records: API_MAX_IMAGE_BODY_BYTES
    throttle_scope = "predict"  # THROTTLE_RATES["predict"]

    @extend_schema(parameters=SEARCH_PARAMETERS, request=search_body())
    def post(self, request: Request, operation: str) -> Response:
        if operation not in OPERATIONS:
            raise NotFound(f"Unknown operation '{operation}'.")
        handler: Callable = getattr(self, f"op_{operation}")
        data = request.data if isinstance(request.data, Mapping) else {}
        return handler(request, data, time.perf_counter())

    def op_ping(self, request: Request, data: Mapping, started: float) -> Response:
        return answer(started)

    def op_insert(self, request: Request, data: Mapping, started: float) -> Response:
        records = records_of(data, settings.SEARCH_MAX_INSERT)
        collection = services.collection_for(request, create=True)
        count_records(workspace_id=collection.workspace_id, service="search", records=len(records))
        done = services.insert_records(collection, records)
        return answer(started, records=[{"_id": key} for key in done.keys], skipped_records=done.skipped)

    def _ranked(self, collection: Collection, hits: list, data: Mapping, started: float) -> Response:
        keys = [key for key, _ in hits]
        records = index.fields_of(collection, keys, data.get("fields_to_return"))
        return answer(
            started,
            answer_records=[records[key] for key in keys],
            answer_distances=[round(float(d), 6) for _, d in hits],
            answer_count=len(hits),
        )

    def op_visualKNN(self, request: Request, data: Mapping, started: float) -> Response:  # noqa: N802
        collection = services.collection_for(request)
        k = count_of(data.get("k"), "k", 5)
        query = filters.checked(data.get("filter"))
        count_records(workspace_id=collection.workspace_id, service="search", records=1)
        vector = query_vector(collection, data)
        return self._ranked(collection, index.nearest(collection, vector, k, query), data, started)

    def op_visualRankRecords(self, request: Request, data: Mapping, started: float) -> Response:  # noqa: N802
        collection = services.collection_for(request)
        try:
            keys = [services.record_key(record) for record in records_of(data, settings.SEARCH_MAX_K)]
        except ValueError as error:
            raise ValidationError({"records": [str(error)]}) from error
        count_records(workspace_id=collection.workspace_id, service="search", records=1)
        vector = query_vector(collection, data)
        return self._ranked(collection, index.rank(collection, vector, keys), data, started)

    def op_random(self, request: Request, data: Mapping, started: float) -> Response:
        collection = services.collection_for(request)
        keys = index.random_keys(collection, count_of(data.get("count"), "count", 10), data.get("filter"))
        records = index.fields_of(collection, keys, data.get("fields_to_return"))
        return answer(started, answer_records=[records[key] for key in keys], answer_count=len(keys))

    def op_get(self, request: Request, data: Mapping, started: float) -> Response:
        collection = services.collection_for(request)
        keys, failed = keys_of(data)
        stored = set(CollectionRecord.objects.filter(collection=collection, key__in=keys).values_list("key", flat=True))
        failed += [services.skipped({"_id": key}, 404, "No record with this _id.") for key in keys if key not in stored]
        found = [key for key in keys if key in stored]
        records = index.fields_of(collection, found, data.get("fields_to_return") or ["*"])
        return answer(
            started, answer_records=[records[key] for key in found], answer_count=len(found), skipped_records=failed
        )

    def op_update(self, request: Request, data: Mapping, started: float) -> Response:
        """Change records' fields (never their vector)."""
        collection = services.collection_for(request)
        done = services.update_records(collection, records_of(data, settings.SEARCH_MAX_INSERT))
        records = index.fields_of(collection, done.keys, data.get("fields_to_return") or ["*"])
        return answer(started, records=[records[key] for key in done.keys], skipped_records=done.skipped)

    def op_delete(self, request: Request, data: Mapping, started: float) -> Response:
        collection = services.collection_for(request)
        keys, failed = keys_of(data)
        stored = services.delete_records(collection, keys)
        failed += [services.skipped({"_id": key}, 404, "No record with this _id.") for key in keys if key not in stored]
        return answer(started, records=[{"_id": key} for key in keys if key in stored], skipped_records=failed)

    def op_allRecords(self, request: Request, data: Mapping, started: float) -> Response:  # noqa: N802
        """Pages of ``size`` records (``size=0`` or none: every record, for ``get_all_ids``)."""
        collection = services.collection_for(request)
        params = request.query_params
        size = 0 if params.get("size") in (None, "", "0") else count_of(params["size"], "size", 0, 10_000)
        page = count_of(params.get("page"), "page", 1, 10**9)
        allowed = index.allowed_keys(collection, data.get("filter"))
        keys = list(CollectionRecord.objects.filter(collection=collection).order_by("id").values_list("key", flat=True))
        if allowed is not None:
            keys = [key for key in keys if key in allowed]
        total = len(keys)
        if size:
            keys = keys[(page - 1) * size : page * size]
        records = index.fields_of(collection, keys, data.get("fields_to_return"))
        body: dict[str, Any] = {"answer_records": [records[key] for key in keys], "answer_count": total}
        if size and page * size < total:
            body["next"] = f"allRecords?size={size}&page={page + 1}"
        return answer(started, **body)


class CollectionViewSet(WorkspaceScopedViewSet):
    """Our management endpoint for search collections: name, key and the embedder they use."""

    queryset = Collection.objects.order_by("created", "id")
    serializer_class = CollectionSerializer

    def perform_create(self, serializer: CollectionSerializer) -> None:
        serializer.instance = services.create_collection(workspace=self.request.workspace, **serializer.validated_data)

    @transaction.atomic
    def perform_update(self, serializer: CollectionSerializer) -> None:
        collection = serializer.save()
        if serializer.move_to is not None:
            task, version = serializer.move_to
            reembedding.start(collection=collection, task=task, version=version)
        else:
            reembedding.follow_production(collection)

    def perform_destroy(self, collection: Collection) -> None:
        services.delete_collection(collection)


class DescriptorView(descriptor.DescriptorView):
    """``similarity/training/v2/descriptor``: by a task's version, or by a collection's embedder (``collection``)."""

    @extend_schema(
        request=task_body(
            "DescriptorRequest",
            settings.MAX_RECORDS,
            task_required=False,
            collection=serializers.CharField(required=False, help_text="A collection's key: its embedder, no task."),
        )
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if not (isinstance(data, Mapping) and data.get("collection") and not (data.get("task_id") or data.get("task"))):
            return super().post(request)
        started = time.perf_counter()
        collection = services.named_collection(request, str(data["collection"]))
        records = parse_records(data, max_records=settings.MAX_RECORDS)
        count_records(workspace_id=collection.workspace_id, service="similarity", records=len(records))
        batch = Batch(records, decode_records(records))
        images = batch.images
        vectors = embedders.normalised(embedders.embed(collection, images)) if images else []
        outputs = [{"_descriptor": vector} for vector in descriptor.rounded(vectors)]
        return respond(
            batch,
            outputs,
            started=started,
            collection=collection.key,
            task_id=str(collection.task_id) if collection.task_id else None,
            version=collection.version,
        )
