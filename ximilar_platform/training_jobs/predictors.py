"""One per-process LRU cache of predictors, keyed by model version (artifacts never change)."""

from __future__ import annotations

import threading

from django.conf import settings

from inference.cache import ModelCache
from inference.classification import ClassificationPredictor
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.models import ModelVersion

_cache: ModelCache[ClassificationPredictor] | None = None
_lock = threading.Lock()


def _load(version_id: str) -> ClassificationPredictor:
    version = ModelVersion.objects.get(id=version_id)
    directory = artifacts.local_dir(version.artifact, version.files)
    return ClassificationPredictor(directory, num_threads=settings.INFERENCE_THREADS)


def predictor_for(version: ModelVersion) -> ClassificationPredictor:
    global _cache
    with _lock:
        if _cache is None:
            _cache = ModelCache(settings.INFERENCE_CACHE_SIZE, _load)
    return _cache.get(str(version.id))
