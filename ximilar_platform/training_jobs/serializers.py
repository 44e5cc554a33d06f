"""Task, model version and training job JSON, the same for every task kind."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rest_framework import serializers

from ximilar_platform.core.api.fields import OptionalText
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.estimates import expected_training_seconds
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob
from ximilar_platform.training_jobs.status import train_status


class TrainableTaskSerializer(serializers.ModelSerializer):
    """What every kind's task JSON has; ``production_version`` and ``traffic`` changes go through services."""

    description = OptionalText()
    last_train_status = serializers.SerializerMethodField()
    expected_training_seconds = serializers.SerializerMethodField(
        help_text="How long a training of the task's data would take now, in seconds; null in lists and for kinds "
        "without an estimate."
    )

    TASK_FIELDS = [
        "id",
        "name",
        "description",
        "production_version",
        "last_train_status",
        "expected_training_seconds",
        "arch",
        "required_verifications",
        "traffic",
        "workspace",
        "created",
    ]

    def architectures(self) -> Collection[str]:
        """The ``arch`` values this kind trains (imported lazily: the training library loads torch)."""
        from training.backbones import ARCHITECTURES

        return ARCHITECTURES

    def get_last_train_status(self, task: TrainableTask) -> str:
        return train_status(task)

    def get_expected_training_seconds(self, task: TrainableTask) -> int | None:
        """Computed on a single task's answers only (the view's ``estimate`` context): it reads the task's images."""
        return expected_training_seconds(task) if self.context.get("estimate") else None

    def validate_arch(self, value: str) -> str:
        known = self.architectures()
        if value and value not in known:
            raise serializers.ValidationError(f"Unknown architecture; choose one of {', '.join(sorted(known))}.")
        return value

    def validate_production_version(self, value: int) -> int:
        if self.instance is None and value != -1:
            raise serializers.ValidationError("A new task has no trained version yet.")
        return value

    def validate_traffic(self, value: Any) -> Any:
        if self.instance is None and value not in (None, {}):
            raise serializers.ValidationError("A new task has no trained version yet.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None:
            attrs.pop("production_version", None)  # -1, what every new task has
            attrs.pop("traffic", None)
        return super().validate(attrs)


class ModelVersionSerializer(serializers.ModelSerializer):
    """Model JSON the client reads (``id, task, task_name, version, train_status``) plus metrics."""

    task = serializers.UUIDField(source="task_id")
    task_name = serializers.SerializerMethodField()
    train_status = serializers.SerializerMethodField()
    production = serializers.SerializerMethodField()
    image_size = serializers.SerializerMethodField()
    phase = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "task",
            "task_name",
            "version",
            "train_status",
            "production",
            "arch",
            "image_size",
            "phase",
            "metrics",
            "training_seconds",
            "data_size",
            "created",
            "workspace",
        ]

    def _task(self, version: ModelVersion) -> TrainableTask | None:
        tasks = self.context.setdefault("tasks", {})
        if version.task_id not in tasks:
            model = adapter_for(version.task_kind).task_model
            tasks[version.task_id] = model.objects.filter(id=version.task_id).first()
        return tasks[version.task_id]

    def get_task_name(self, version: ModelVersion) -> str:
        task = self._task(version)
        return task.name if task else ""

    def get_train_status(self, version: ModelVersion) -> str:
        return "TRAINED"

    def get_image_size(self, version: ModelVersion) -> int | None:
        """The input resolution the model was trained (and is served) at."""
        return version.manifest.get("preprocessing", {}).get("image_size")

    def get_phase(self, version: ModelVersion) -> str | None:
        """ "quick" for a first version on frozen features, "fine_tune" for a trained network (recognition)."""
        return version.manifest.get("phase")

    def get_production(self, version: ModelVersion) -> bool:
        task = self._task(version)
        return bool(task and task.production_version == version.version)


class TrainingJobSerializer(serializers.ModelSerializer):
    task = serializers.UUIDField(source="task_id")
    version = serializers.IntegerField(source="version.version", allow_null=True, default=None)

    class Meta:
        model = TrainingJob
        fields = ["id", "task", "state", "held", "progress", "error", "created", "started", "finished", "version"]
