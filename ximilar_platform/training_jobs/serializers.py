"""Model version and training job JSON, the same for every task kind."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob
from ximilar_platform.training_jobs.services import deployed, task_model


class DeployableTaskSerializer(serializers.ModelSerializer):
    """A task whose ``production_version`` can be set to one of its trained versions (a deploy)."""

    task_kind: str

    def validate_production_version(self, value: int) -> int:
        if self.instance is None:
            if value != -1:
                raise serializers.ValidationError("A new task has no trained version yet.")
            return value
        if value != self.instance.production_version and not ModelVersion.objects.filter(
            task_kind=self.task_kind, task_id=self.instance.id, version=value
        ).exists():
            raise serializers.ValidationError(f"Version {value} of this task does not exist.")
        return value

    def update(self, instance: models.Model, validated_data: dict) -> models.Model:
        before = instance.production_version
        task = super().update(instance, validated_data)
        if task.production_version != before:
            deployed(self.task_kind, task)
        return task


class ModelVersionSerializer(serializers.ModelSerializer):
    """Model JSON the client reads (``id, task, task_name, version, train_status``) plus metrics."""

    task = serializers.UUIDField(source="task_id")
    task_name = serializers.SerializerMethodField()
    train_status = serializers.SerializerMethodField()
    production = serializers.SerializerMethodField()
    image_size = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id", "task", "task_name", "version", "train_status", "production", "arch", "image_size", "metrics",
            "training_seconds", "data_size", "created", "workspace",
        ]

    def _task(self, version: ModelVersion) -> models.Model | None:
        tasks = self.context.setdefault("tasks", {})
        if version.task_id not in tasks:
            tasks[version.task_id] = task_model(version.task_kind).objects.filter(id=version.task_id).first()
        return tasks[version.task_id]

    def get_task_name(self, version: ModelVersion) -> str:
        task = self._task(version)
        return task.name if task else ""

    def get_train_status(self, version: ModelVersion) -> str:
        return "TRAINED"

    def get_image_size(self, version: ModelVersion) -> int | None:
        """The input resolution the model was trained (and is served) at."""
        return version.manifest.get("preprocessing", {}).get("image_size")

    def get_production(self, version: ModelVersion) -> bool:
        task = self._task(version)
        return bool(task and task.production_version == version.version)


class TrainingJobSerializer(serializers.ModelSerializer):
    task = serializers.UUIDField(source="task_id")
    version = serializers.IntegerField(source="version.version", allow_null=True, default=None)

    class Meta:
        model = TrainingJob
        fields = ["id", "task", "state", "progress", "error", "created", "started", "finished", "version"]
