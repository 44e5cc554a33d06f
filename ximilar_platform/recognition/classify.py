"""``POST recognition/v2/classify``: one batched forward pass through a cached predictor."""

from __future__ import annotations

import time

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.core.models import TaskKind
from ximilar_platform.recognition.predictions import classify
from ximilar_platform.serving.openapi import store_images, task_body
from ximilar_platform.serving.requests import read_prediction
from ximilar_platform.serving.responses import respond
from ximilar_platform.serving.split import best_prob, run_versions


class ClassifyView(APIView):
    takes_images = True  # bodies of image records: API_MAX_IMAGE_BODY_BYTES
    throttle_scope = "predict"  # THROTTLE_RATES["predict"]

    @extend_schema(request=task_body("ClassifyRequest", settings.MAX_RECORDS, store_images=store_images()))
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        read = read_prediction(request, TaskKind.RECOGNITION)
        outputs, version = run_versions(read, lambda one, batch: classify(read.task, one, batch.images), best_prob)
        store_in = read.task.workspace if request.data.get("store_images") else None
        return respond(read, outputs, started=started, store_in=store_in, task_id=str(read.task.id), version=version)
