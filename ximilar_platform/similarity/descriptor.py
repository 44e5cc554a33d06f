"""``POST similarity/training/v2/descriptor``: embeddings of records by a trained similarity task (contract §3.3)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.images import InvalidImage
from ximilar_platform.core.api import records as envelope
from ximilar_platform.similarity import search
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs import serving
from ximilar_platform.training_jobs.models import TaskKind
from ximilar_platform.training_jobs.predictors import predictor_for


class DescriptorView(APIView):
    """Descriptors by a task's version (``task_id``, ``version``) or by a collection's embedder (``collection``)."""

    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        if isinstance(request.data, Mapping) and request.data.get("collection") and not (
                request.data.get("task_id") or request.data.get("task")):
            return self.by_collection(request, started)
        read = serving.read_prediction(request, SimilarityTask, TaskKind.SIMILARITY)
        vectors = predictor_for(read.version).describe(read.images) if read.images else []
        results = described(read.records, read.decoded, vectors)
        return Response(envelope.envelope(results, started, task_id=str(read.task.id), version=read.version.version))

    def by_collection(self, request: Request, started: float) -> Response:
        """The vectors the collection would store for these images: comparable with its records."""
        collection = search.named_collection(request, str(request.data["collection"]))
        records = envelope.parse_records(request.data, max_records=settings.MAX_RECORDS)
        decoded = serving.decode_records(records)
        images = [item.image for item in decoded if not isinstance(item, InvalidImage)]
        vectors = search.normalised(search.embed(collection, images)) if images else []
        results = described(records, decoded, vectors)
        return Response(envelope.envelope(results, started, collection=collection.key,
                                          task_id=str(collection.task_id) if collection.task_id else None,
                                          version=collection.version))


def described(records: list[dict[str, Any]], decoded: list, vectors: Sequence) -> list[dict[str, Any]]:
    """Each readable record with its ``_descriptor``; each unreadable one with its error."""
    vectors, results = iter(vectors), []
    for record, item in zip(records, decoded, strict=True):
        if isinstance(item, InvalidImage):
            results.append(envelope.failed(record, item))
            continue
        vector = [round(float(value), 6) for value in next(vectors)]
        results.append(envelope.succeeded(record, item, _descriptor=vector))
    return results
