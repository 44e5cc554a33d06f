"""One per-process LRU cache of predictors, keyed by model version (artifacts never change).

Lookups and loads are counted here rather than in ``inference.cache``, which stays free of the
web stack's metrics: the hit ratio is 1 - loads / lookups.
"""

from __future__ import annotations

import threading

from django.conf import settings

from inference import Predictor, load_predictor
from inference.cache import ModelCache
from ximilar_platform import metrics
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.models import ModelVersion

_cache: ModelCache[Predictor] | None = None
_lock = threading.Lock()


def _load(version_id: str) -> Predictor:
    with metrics.MODEL_LOAD_SECONDS.time():
        version = ModelVersion.objects.get(id=version_id)
        return load_predictor(
            artifacts.local_dir(version.artifact, version.files),
            num_threads=settings.INFERENCE_THREADS,
            providers=settings.INFERENCE_PROVIDERS,
        )


def predictor_for(version: ModelVersion) -> Predictor:
    global _cache
    with _lock:
        if _cache is None:
            _cache = ModelCache(settings.INFERENCE_CACHE_SIZE, _load)
    metrics.MODEL_LOOKUPS.inc()
    return _cache.get(str(version.id))


def generic_descriptors(images: list) -> list[list[float]]:
    """``descriptor: 1``: the generic visual descriptor of each image (`inference.descriptors`)."""
    from inference.descriptors import shared_descriptor

    return shared_descriptor(
        settings.READY_MODELS_DIR, num_threads=settings.INFERENCE_THREADS, providers=settings.INFERENCE_PROVIDERS
    ).describe(images)
