"""How each kind of task trains: a `TrainingAdapter` its app registers in ``AppConfig.ready``.

The training-job lifecycle (`training_jobs.services`, `training_jobs.runner`) looks adapters up
by `TaskKind` and never names the app of a kind; apps above it may also listen for deploys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ximilar_platform.core.models import TrainableTask

if TYPE_CHECKING:
    from training.spec import Progress, TrainingResult


class TrainingAdapter(Protocol):
    """One kind's data rules, its rows-to-dataclasses snapshot and its training call."""

    task_model: type[TrainableTask]

    def check_training_data(self, task: Any) -> None:
        """Raise a ValidationError saying what is missing when ``task`` cannot be trained yet."""

    def train(self, task: Any, work_dir: Path, on_progress: Callable[[Progress], None]) -> TrainingResult:
        """Snapshot the task's rows and train on them in ``work_dir``; the artifact is the result's."""

    def deploy_metric(self, task: Any) -> tuple[str, int]:
        """The validation metric that decides whether a retrained version replaces production, and
        +1 when larger is better (-1 when smaller is)."""


ADAPTERS: dict[str, TrainingAdapter] = {}
DEPLOY_LISTENERS: dict[str, list[Callable[[Any], None]]] = {}


def register_adapter(kind: str, adapter: TrainingAdapter) -> None:
    ADAPTERS[kind] = adapter


def adapter_for(kind: str) -> TrainingAdapter:
    return ADAPTERS[kind]


def on_deploy(kind: str, listener: Callable[[Any], None]) -> None:
    """Call ``listener(task_id)`` after the commit of every deploy of a task of ``kind``."""
    DEPLOY_LISTENERS.setdefault(kind, []).append(listener)


def deploy_listeners(kind: str) -> list[Callable[[Any], None]]:
    return DEPLOY_LISTENERS.get(kind, [])
