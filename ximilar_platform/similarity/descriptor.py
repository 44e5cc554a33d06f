"""``POST similarity/training/v2/descriptor``: embeddings of records by a trained similarity task (contract §3.3)."""

from __future__ import annotations

import time

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.images import InvalidImage
from ximilar_platform.core.api import records as envelope
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs import serving
from ximilar_platform.training_jobs.models import TaskKind
from ximilar_platform.training_jobs.predictors import predictor_for


class DescriptorView(APIView):
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        read = serving.read_prediction(request, SimilarityTask, TaskKind.SIMILARITY)
        vectors = iter(predictor_for(read.version).describe(read.images) if read.images else [])
        results = []
        for record, item in zip(read.records, read.decoded, strict=True):
            if isinstance(item, InvalidImage):
                results.append(envelope.failed(record, item))
                continue
            vector = [round(float(value), 6) for value in next(vectors)]
            results.append(envelope.succeeded(record, item, _descriptor=vector))
        return Response(envelope.envelope(results, started, task_id=str(read.task.id), version=read.version.version))
