"""``POST detection/v2/detect``: one batched forward pass through a cached detector."""

from __future__ import annotations

import time

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.core.models import TaskKind
from ximilar_platform.detection.predictions import detect, parse_keep_prob
from ximilar_platform.serving.predictors import generic_descriptors
from ximilar_platform.serving.requests import Batch, read_prediction
from ximilar_platform.serving.responses import respond
from ximilar_platform.serving.split import mean_object_prob, run_versions
from ximilar_platform.training_jobs.models import ModelVersion


class DetectView(APIView):
    takes_images = True  # bodies of image records: API_MAX_IMAGE_BODY_BYTES
    throttle_scope = "predict"  # THROTTLE_RATES["predict"]

    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        read = read_prediction(request, TaskKind.DETECTION)
        keep_prob = parse_keep_prob(request.data.get("keep_prob"))

        def run(version: ModelVersion, batch: Batch) -> list[dict]:
            return [{"_objects": found} for found in detect(version, batch.images, keep_prob, batch.full_sizes)]

        outputs, version = run_versions(read, run, mean_object_prob)
        if request.data.get("descriptor") and read.images:  # a 1280-d generic descriptor per record
            for output, vector in zip(outputs, generic_descriptors(read.images), strict=True):
                output["_descriptor"] = vector
        store_in = read.task.workspace if request.data.get("store_images") else None
        return respond(read, outputs, started=started, store_in=store_in, task_id=str(read.task.id), version=version)
