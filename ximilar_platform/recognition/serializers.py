"""Task and Label JSON as the official client reads it (API_CONTRACT.md §1.1)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ximilar_platform.core.api.fields import OptionalText
from ximilar_platform.recognition import services
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.training_jobs.serializers import TrainableTaskSerializer


class LabelBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "type", "output_name", "negative_for_task"]


class TaskSerializer(TrainableTaskSerializer):
    labels = LabelBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Task
        fields = [*TrainableTaskSerializer.TASK_FIELDS, "type", "labels", "quick_first_version"]
        read_only_fields = ["workspace", "created"]

    def validate_type(self, value: str) -> str:
        if self.instance is not None and value != self.instance.type:
            raise serializers.ValidationError("The type of an existing task cannot change; create a new task.")
        return value


class LabelSerializer(serializers.ModelSerializer):
    images_count = serializers.SerializerMethodField()
    tasks_count = serializers.SerializerMethodField()
    description = OptionalText()
    output_name = OptionalText()

    class Meta:
        model = Label
        fields = [
            "id",
            "name",
            "description",
            "type",
            "output_name",
            "negative_for_task",
            "workspace",
            "created",
            "images_count",
            "tasks_count",
        ]
        read_only_fields = ["negative_for_task", "workspace", "created"]

    def get_images_count(self, label: Label) -> int:
        count = getattr(label, "images_count", None)
        return label.image_labels.count() if count is None else count

    def get_tasks_count(self, label: Label) -> int:
        count = getattr(label, "tasks_count", None)
        return label.tasks.count() if count is None else count

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "type" in attrs:
            services.change_label_type(label=self.instance, new_type=attrs["type"])
        return attrs
