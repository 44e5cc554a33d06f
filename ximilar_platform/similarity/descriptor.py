"""``POST similarity/training/v2/descriptor``: embeddings of records by a trained similarity task (contract §3.3)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.core.models import TaskKind
from ximilar_platform.serving import predictors
from ximilar_platform.serving.requests import Batch, read_prediction
from ximilar_platform.serving.responses import respond
from ximilar_platform.serving.split import no_confidence, run_versions
from ximilar_platform.training_jobs.models import ModelVersion


def describe(version: ModelVersion, images: list) -> list[list[float]]:
    """The L2-normalised embedding of each image by ``version``, in one batched run."""
    if not images:
        return []
    return rounded(predictors.predictor_for(version).predict(images))


def rounded(vectors: Iterable[Sequence[float]]) -> list[list[float]]:
    return [[round(float(value), 6) for value in vector] for vector in vectors]


class DescriptorView(APIView):
    """Descriptors by a task's version (``task_id``, ``version``: null is production)."""

    takes_images = True  # bodies of image records: API_MAX_IMAGE_BODY_BYTES
    throttle_scope = "predict"  # THROTTLE_RATES["predict"]

    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        read = read_prediction(request, TaskKind.SIMILARITY)

        def run(version: ModelVersion, batch: Batch) -> list[dict]:
            return [{"_descriptor": vector} for vector in describe(version, batch.images)]

        outputs, version = run_versions(read, run, no_confidence)
        return respond(read, outputs, started=started, task_id=str(read.task.id), version=version)
