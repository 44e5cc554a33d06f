"""Run a prediction's records through the versions that serve them: each model once per request.

Under a traffic split (`training_jobs.traffic`) the records of one request may go to different
versions; they are grouped per version, each group is one batched run, and each record says
which version served it (``_version``). Every run is counted per version and day.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inference.images import DecodedImage
from ximilar_platform.serving.requests import Batch, Prediction
from ximilar_platform.training_jobs.models import ModelVersion
from ximilar_platform.training_jobs.traffic import count_served

Run = Callable[[ModelVersion, Batch], list[dict[str, Any]]]
Confidence = Callable[[dict[str, Any]], "float | None"]


def run_versions(read: Prediction, run: Run, confidence: Confidence) -> tuple[list[dict[str, Any]], int]:
    """One output per readable record, in order, and the answer's top-level ``version``.

    That is the version named or in production, or under a split the one version that served
    every record, else production's.
    """
    if not read.served:
        outputs = run(read.version, read)
        count_served(read.version, len(outputs), map(confidence, outputs))
        return outputs, read.version.version
    readable = [i for i, item in enumerate(read.decoded) if isinstance(item, DecodedImage)]
    groups: dict[int, list[int]] = {}
    for index in readable:
        groups.setdefault(read.served[index].version, []).append(index)
    versions = {version.version: version for version in read.served}
    answered: dict[int, dict[str, Any]] = {}
    for number, indices in sorted(groups.items()):
        batch = Batch([read.records[i] for i in indices], [read.decoded[i] for i in indices])
        outputs = run(versions[number], batch)
        count_served(versions[number], len(outputs), map(confidence, outputs))
        answered.update((i, {**output, "_version": number}) for i, output in zip(indices, outputs, strict=True))
    top = next(iter(groups)) if len(groups) == 1 else read.version.version
    return [answered[i] for i in readable], top


def best_prob(output: dict[str, Any]) -> float | None:
    """A classify's confidence: its best label's probability (a regression has none)."""
    return (output.get("best_label") or {}).get("prob")


def mean_object_prob(output: dict[str, Any]) -> float | None:
    """A detect's confidence: the mean probability of the objects found; none without objects."""
    objects = output.get("_objects") or []
    return sum(item["prob"] for item in objects) / len(objects) if objects else None


def no_confidence(output: dict[str, Any]) -> None:
    """A descriptor has no confidence; its records are counted alone."""
    return None
