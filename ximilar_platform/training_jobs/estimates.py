"""How long a task's next training is expected to take, said before it starts (the API and the task page).

Each kind's adapter may give an ``estimate(task) -> seconds | None`` that follows its trainer's own
rules for image size and epochs; the throughput it assumes is the one this installation's workers
measured on their latest trainings of that kind (`recent_manifests`), else a documented constant.
"""

from __future__ import annotations

from typing import Any

from ximilar_platform.core.models import TrainableTask
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.models import ModelVersion

RECENT_VERSIONS = 5  # the newest versions of a kind whose measured speed an estimate uses


def expected_training_seconds(task: TrainableTask) -> int | None:
    """Whole seconds a training of the task's data would take now, or None when its kind says nothing."""
    estimate = adapter_for(task.task_kind).estimate
    seconds = estimate(task) if estimate else None
    return None if seconds is None else round(seconds)


def recent_manifests(kind: str) -> list[dict[str, Any]]:
    """Manifests of the newest versions of a kind in any workspace: what the workers measured, newest first."""
    versions = ModelVersion.objects.filter(task_kind=kind).order_by("-created")[:RECENT_VERSIONS]
    return [manifest for manifest in versions.values_list("manifest", flat=True) if isinstance(manifest, dict)]
