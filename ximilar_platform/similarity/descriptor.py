"""``POST similarity/training/v2/descriptor``: embeddings of records by a trained similarity task (contract §3.3)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.images import DecodedImage, InvalidImage
from ximilar_platform.core.api import records as envelope
from ximilar_platform.images.storage import image_limits, url_policy
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs import serving
from ximilar_platform.training_jobs.models import TaskKind
from ximilar_platform.training_jobs.predictors import predictor_for


class DescriptorView(APIView):
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        if not isinstance(request.data, Mapping):
            raise ValidationError("The body must be a JSON object with task_id and records.")
        task = serving.find_task(request, SimilarityTask)
        version = serving.resolve_version(request, task, TaskKind.SIMILARITY)
        records = envelope.parse_records(request.data, max_records=settings.MAX_RECORDS)
        decoded = envelope.decode_all(records, image_limits(), url_policy())
        good = [item.image for item in decoded if isinstance(item, DecodedImage)]
        vectors = iter(predictor_for(version).describe(good) if good else [])
        results = []
        for record, item in zip(records, decoded, strict=True):
            if isinstance(item, InvalidImage):
                results.append(envelope.failed(record, item))
                continue
            vector = [round(float(value), 6) for value in next(vectors)]
            results.append(envelope.succeeded(record, item, _descriptor=vector))
        return Response(envelope.envelope(results, started, task_id=str(task.id), version=version.version))
