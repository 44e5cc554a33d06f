"""How each kind of task trains: a `TrainingAdapter` its app registers in ``AppConfig.ready``.

The training-job lifecycle (`training_jobs.services`, `training_jobs.runner`) looks adapters up
by `TaskKind` and never names the app of a kind; apps above it may also listen for deploys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models.signals import post_delete

from ximilar_platform.core.models import TrainableTask
from ximilar_platform.training_jobs.cleanup import forget_task

if TYPE_CHECKING:
    from training.spec import Progress, TrainingResult


@dataclass(frozen=True)
class TrainingAdapter:
    """One kind's data rules, its rows-to-dataclasses snapshot and its trainer.

    Attributes:
        task_model: The kind's task model.
        check_training_data: Raises a ValidationError saying what is missing when a task cannot
            be trained yet.
        snapshot: ``(task, work_dir) -> (spec, samples)``: the trainer's input from the task's rows,
            with local file paths; training never touches the ORM.
        trainer: Returns the pure ``training`` function (imported when a job runs: it loads torch).
        deploy_metric: ``task -> (name, sign)``: the validation metric that decides whether a
            retrained version replaces production, and +1 when larger is better (-1 when smaller is).
        estimate: ``task -> seconds | None``: how long a training of the task's data is expected to
            take (`training_jobs.estimates`); None: the kind says nothing.
        early_versions: The trainer takes ``on_version`` and may hand it artifacts it published
            before its final one (recognition's quick first version); each becomes a version.
    """

    task_model: type[TrainableTask]
    check_training_data: Callable[[Any], None]
    snapshot: Callable[[Any, Path], tuple[Any, list]]
    trainer: Callable[[], Callable[..., TrainingResult]]
    deploy_metric: Callable[[Any], tuple[str, int]]
    estimate: Callable[[Any], float | None] | None = None
    early_versions: bool = False

    def train(
        self,
        task: Any,
        work_dir: Path,
        on_progress: Callable[[Progress], None],
        on_version: Callable[[TrainingResult], None] | None = None,
    ) -> TrainingResult:
        """Snapshot the task's rows and train on them in ``work_dir``; the artifact is the result's."""
        spec, samples = self.snapshot(task, work_dir)
        early = {"on_version": on_version} if self.early_versions and on_version is not None else {}
        return self.trainer()(spec, samples, work_dir / "artifact", on_progress=on_progress, **early)


def run_settings() -> dict[str, Any]:
    """The settings every kind's spec takes: backbone weights, torch's threads, the time budget."""
    return {
        "weights_dir": settings.TRAINING_WEIGHTS_DIR,
        "num_threads": settings.TORCH_THREADS,
        "max_seconds": settings.TRAINING_MAX_SECONDS,
    }


ADAPTERS: dict[str, TrainingAdapter] = {}
DEPLOY_LISTENERS: dict[str, list[Callable[[Any], None]]] = {}


def register_adapter(kind: str, adapter: TrainingAdapter) -> None:
    ADAPTERS[kind] = adapter
    post_delete.connect(forget_task, sender=adapter.task_model, dispatch_uid=f"forget-{kind}-task")


def adapter_for(kind: str) -> TrainingAdapter:
    return ADAPTERS[kind]


def on_deploy(kind: str, listener: Callable[[Any], None]) -> None:
    """Call ``listener(task_id)`` after the commit of every deploy of a task of ``kind``."""
    DEPLOY_LISTENERS.setdefault(kind, []).append(listener)


def deploy_listeners(kind: str) -> list[Callable[[Any], None]]:
    return DEPLOY_LISTENERS.get(kind, [])
