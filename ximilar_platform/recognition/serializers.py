"""Task and Label JSON as the official client reads it (API_CONTRACT.md §1.1)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ximilar_platform.recognition import services
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.training_jobs.models import ModelVersion, TaskKind, TrainingJob


class LabelBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "type", "output_name", "negative_for_task"]


class TaskSerializer(serializers.ModelSerializer):
    labels = LabelBriefSerializer(many=True, read_only=True)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")

    class Meta:
        model = Task
        fields = [
            "id", "name", "description", "type", "production_version", "last_train_status",
            "workspace", "created", "labels", "arch",
        ]
        read_only_fields = ["last_train_status", "workspace", "created"]

    def validate_arch(self, value: str) -> str:
        from training.backbones import ARCHITECTURES

        if value and value not in ARCHITECTURES:
            raise serializers.ValidationError(f"Unknown architecture; choose one of {', '.join(sorted(ARCHITECTURES))}.")
        return value

    def validate_production_version(self, value: int) -> int:
        """Deploying a version: it must be a trained version of this task."""
        if self.instance is None:
            if value != -1:
                raise serializers.ValidationError("A new task has no trained version yet.")
            return value
        if value != self.instance.production_version and not ModelVersion.objects.filter(
            task_kind=TaskKind.RECOGNITION, task_id=self.instance.id, version=value
        ).exists():
            raise serializers.ValidationError(f"Version {value} of this task does not exist.")
        return value

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def validate_type(self, value: str) -> str:
        if self.instance is not None and value != self.instance.type:
            raise serializers.ValidationError("The type of an existing task cannot change; create a new task.")
        return value


class LabelSerializer(serializers.ModelSerializer):
    images_count = serializers.SerializerMethodField()
    tasks_count = serializers.SerializerMethodField()
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    output_name = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")

    class Meta:
        model = Label
        fields = [
            "id", "name", "description", "type", "output_name", "negative_for_task",
            "workspace", "created", "images_count", "tasks_count",
        ]
        read_only_fields = ["negative_for_task", "workspace", "created"]

    def get_images_count(self, label: Label) -> int:
        count = getattr(label, "images_count", None)
        return label.image_labels.count() if count is None else count

    def get_tasks_count(self, label: Label) -> int:
        count = getattr(label, "tasks_count", None)
        return label.tasks.count() if count is None else count

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def validate_output_name(self, value: str | None) -> str:
        return value or ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "type" in attrs:
            services.change_label_type(label=self.instance, new_type=attrs["type"])
        return attrs


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

    def _task(self, version: ModelVersion) -> Task | None:
        tasks = self.context.setdefault("tasks", {})
        if version.task_id not in tasks:
            tasks[version.task_id] = Task.objects.filter(id=version.task_id).first()
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
