"""One per-process LRU cache of predictors, keyed by model version (artifacts never change)."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from inference.cache import ModelCache
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.models import ModelVersion, TaskKind

_cache: ModelCache[Any] | None = None
_lock = threading.Lock()


def _load(version_id: str) -> Any:
    version = ModelVersion.objects.get(id=version_id)
    directory = artifacts.local_dir(version.artifact, version.files)
    if version.task_kind == TaskKind.SIMILARITY:
        from inference.embedding import Embedder

        return Embedder(directory, num_threads=settings.INFERENCE_THREADS)
    if version.task_kind == TaskKind.DETECTION:
        from inference.detection import DetectionPredictor

        return DetectionPredictor(directory, num_threads=settings.INFERENCE_THREADS)
    from inference.classification import ClassificationPredictor

    return ClassificationPredictor(directory, num_threads=settings.INFERENCE_THREADS)


def predictor_for(version: ModelVersion) -> Any:
    global _cache
    with _lock:
        if _cache is None:
            _cache = ModelCache(settings.INFERENCE_CACHE_SIZE, _load)
    return _cache.get(str(version.id))
