"""Which predictor serves an artifact: a registry keyed by the manifest's ``(task_type, arch)``.

Callers never pick a class: ``load_predictor(artifact_dir)`` reads the manifest and builds the
registered predictor (roboflow/inference's ``REGISTRY[(task, arch)]``). Factories import their
module when first used, so serving one kind of model never loads the others' runtimes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from inference.manifest import read_manifest

ANY_ARCH = "*"


class Predictor(Protocol):
    """One loaded artifact, shared by every request of a process (onnxruntime runs are thread-safe)."""

    manifest: dict[str, Any]

    def predict(self, images: Sequence[Image.Image], /, *args: Any, **options: Any) -> Any:
        """One batched run: one result per image, in order; options are the kind's own (``keep_prob``)."""
        ...


Factory = Callable[[Path, "int | None", "Sequence[str] | None"], Predictor]
REGISTRY: dict[tuple[str, str], Factory] = {}


def register(*task_types: str, arch: str = ANY_ARCH) -> Callable[[Factory], Factory]:
    """Serve artifacts of these task types (and of ``arch``, or any) with the decorated factory."""

    def add(factory: Factory) -> Factory:
        for task_type in task_types:
            REGISTRY[(task_type, arch)] = factory
        return factory

    return add


def load_predictor(
    artifact_dir: str | Path, *, num_threads: int | None = None, providers: Sequence[str] | None = None
) -> Predictor:
    """The predictor registered for the artifact's task type and architecture.

    Args:
        artifact_dir: A directory written by one of the `training` trainers.
        num_threads: onnxruntime intra-op threads; None lets onnxruntime use every core.
        providers: onnxruntime execution providers in order of preference; None: CPU only.

    Raises:
        IncompatibleArtifact: No readable manifest, another format version, or no predictor for
            its task type and architecture.
    """
    directory = Path(artifact_dir)
    manifest = read_manifest(directory, {task_type for task_type, _ in REGISTRY}, "a model this code serves")
    task_type, arch = str(manifest["task_type"]), str(manifest.get("arch", ""))
    factory = REGISTRY.get((task_type, arch)) or REGISTRY[(task_type, ANY_ARCH)]
    return factory(directory, num_threads, providers)


@register("multi_class", "multi_label", "regression")
def _classifier(directory: Path, num_threads: int | None, providers: Sequence[str] | None) -> Predictor:
    from inference.classification import ClassificationPredictor

    return ClassificationPredictor(directory, num_threads=num_threads, providers=providers)


@register("detection")
def _detector(directory: Path, num_threads: int | None, providers: Sequence[str] | None) -> Predictor:
    from inference.detection import DetectionPredictor

    return DetectionPredictor(directory, num_threads=num_threads, providers=providers)


@register("similarity")
def _embedder(directory: Path, num_threads: int | None, providers: Sequence[str] | None) -> Predictor:
    from inference.embedding import Embedder

    return Embedder(directory, num_threads=num_threads, providers=providers)
