"""Which embedder makes a collection's vectors, and making them: a similarity version or the generic descriptor.

Vectors of different embedders do not compare, so a collection is pinned to one version at its
first record; a deploy moves the whole collection (`collections.reembedding`), never single records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from django.conf import settings
from rest_framework.exceptions import ValidationError

from ximilar_platform.collections.models import Collection
from ximilar_platform.core.models import TaskKind
from ximilar_platform.serving import predictors
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs.models import ModelVersion


def embedder_version(collection: Collection) -> ModelVersion | None:
    """The similarity version whose embedder the collection uses; None: the generic descriptor."""
    if collection.task is None:
        return None
    return trained_version(collection.task, collection.version or collection.task.production_version)


def trained_version(task: SimilarityTask, number: int | None) -> ModelVersion:
    version = ModelVersion.objects.filter(task_kind=TaskKind.SIMILARITY, task_id=task.id, version=number).first()
    if version is None:
        raise ValidationError(f"The similarity task '{task}' has no trained version {number}.")
    return version


def pin_embedder(collection: Collection) -> None:
    """Fix a task-bound collection to the task's current production version before its first record."""
    if collection.task is not None and collection.version is None and collection.task.production_version >= 1:
        collection.version = collection.task.production_version
        collection.save(update_fields=["version"])


def embed(collection: Collection, images: Sequence) -> np.ndarray:
    """In chunks of ``SEARCH_EMBED_BATCH``: a model's activations grow with the batch, the images do not."""
    version, size = embedder_version(collection), settings.SEARCH_EMBED_BATCH
    chunks = [embed_with(version, images[start : start + size]) for start in range(0, len(images), size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, collection.dimension or 0), dtype=np.float32)


def embed_with(version: ModelVersion | None, images: Sequence) -> np.ndarray:
    """Float32 vectors of images by a trained similarity version, or by the generic descriptor (None)."""
    from inference.descriptors import generic_embeddings

    if version is None:
        return generic_embeddings(
            list(images),
            settings.READY_MODELS_DIR,
            num_threads=settings.INFERENCE_THREADS,
            providers=settings.INFERENCE_PROVIDERS,
        )
    return np.asarray(predictors.predictor_for(version).predict(list(images)), dtype=np.float32)


def input_side(version: ModelVersion | None) -> int:
    """The side of the square the embedder sees (0 when a version's manifest does not say)."""
    if version is None:
        from inference.descriptors import IMAGE_SIZE

        return IMAGE_SIZE
    return int(version.manifest.get("preprocessing", {}).get("image_size") or 0)


def normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def parse_descriptor(value: Any, collection: Collection) -> np.ndarray:
    """A client-computed ``_descriptor``: a list of finite numbers of the collection's dimension."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError("_descriptor must be a non-empty list of numbers.")
    vector = np.asarray(value, dtype=np.float32)
    if not np.isfinite(vector).all():
        raise ValueError("_descriptor must contain finite numbers.")
    if collection.dimension and len(vector) != collection.dimension:
        raise ValueError(
            f"_descriptor has {len(vector)} numbers; this collection's vectors have {collection.dimension}."
        )
    return vector
