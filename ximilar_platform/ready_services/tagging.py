"""Generic photo tagging (``photo/tags/v2/tags``): ImageNet-1k classes as Ximilar's ``_tags``.

The process keeps one tagger, built on first use from the ONNX model exported once per host into
``READY_MODELS_DIR`` (`inference.tagging`; ``manage.py export_ready_models`` does it ahead).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from inference.tagging import GenericTagger, ensure_tagger

_tagger: GenericTagger | None = None
_lock = threading.Lock()


def tagger_dir() -> Path:
    """The exported model's folder, exported now if this host has none (the one step that imports torch)."""
    return ensure_tagger(settings.READY_MODELS_DIR)


def shared_tagger() -> GenericTagger:
    global _tagger
    with _lock:  # held through a first export too: the process's other requests wait for it, not export again
        if _tagger is None:
            _tagger = GenericTagger(
                tagger_dir(), num_threads=settings.INFERENCE_THREADS, providers=settings.INFERENCE_PROVIDERS
            )
    return _tagger


def tag_images(images: list) -> list[dict[str, Any]]:
    """Per image ``_tags`` (``{name, prob, id}``, best first) and ``_tags_simple`` (their names)."""
    if not images:
        return []
    found = shared_tagger().tags(images, top_k=settings.TAGGING_TOP_K, min_prob=settings.TAGGING_MIN_PROB)
    return [
        {
            "_tags": [{"name": tag.name, "prob": tag.prob, "id": tag.id} for tag in tags],
            "_tags_simple": [tag.name for tag in tags],
        }
        for tags in found
    ]
