"""Similarity type, task and group JSON as the official client reads it (API_CONTRACT.md §3.1, group traps)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from ximilar_platform.core.api.fields import OptionalText
from ximilar_platform.core.api.lookups import get_in_workspace
from ximilar_platform.detection.serializers import DetectionObjectSerializer
from ximilar_platform.recognition.image_serializers import TrainingImageSerializer, parse_meta_data
from ximilar_platform.similarity.models import SimilarityGroup, SimilarityTask, SimilarityType
from ximilar_platform.training_jobs.serializers import TrainableTaskSerializer


class SimilarityTypeSerializer(serializers.ModelSerializer):
    description = OptionalText()

    class Meta:
        model = SimilarityType
        fields = ["id", "name", "description", "workspace", "created"]
        read_only_fields = ["workspace", "created"]


class SimilarityTaskSerializer(TrainableTaskSerializer):
    types = SimilarityTypeSerializer(many=True, read_only=True)

    class Meta:
        model = SimilarityTask
        fields = [*TrainableTaskSerializer.TASK_FIELDS, "types"]
        read_only_fields = ["workspace", "created"]


class SimilarityGroupSerializer(serializers.ModelSerializer):
    """``type`` is nested on read (the client's refresh reads ``type.workspace``) and an id or object on write."""

    type = serializers.JSONField()
    # no defaults: the client's update_stype PUTs only the type, which must not clear the name
    name = OptionalText(default=empty)
    description = OptionalText(default=empty)
    meta_data = serializers.JSONField(required=False, allow_null=True)
    images = serializers.SerializerMethodField()
    groups = serializers.SerializerMethodField()
    detection_objects = serializers.SerializerMethodField()

    class Meta:
        model = SimilarityGroup
        fields = [
            "id",
            "name",
            "description",
            "type",
            "meta_data",
            "test_group",
            "images",
            "groups",
            "detection_objects",
            "workspace",
            "created",
        ]
        read_only_fields = ["workspace", "created"]

    def to_representation(self, group: SimilarityGroup) -> dict[str, Any]:
        body = super().to_representation(group)
        body["type"] = SimilarityTypeSerializer(group.type).data
        return body

    def get_images(self, group: SimilarityGroup) -> list[dict]:
        return TrainingImageSerializer(group.images.all(), many=True, context=self.context).data

    def get_groups(self, group: SimilarityGroup) -> list[dict]:
        return [
            {
                "id": str(child.id),
                "name": child.name,
                "description": child.description,
                "type": SimilarityTypeSerializer(child.type).data,
                "meta_data": child.meta_data,
                "test_group": child.test_group,
            }
            for child in group.groups.all()
        ]

    def get_detection_objects(self, group: SimilarityGroup) -> list[dict]:
        return DetectionObjectSerializer(group.detection_objects.all(), many=True, context=self.context).data

    def validate_type(self, value: Any) -> SimilarityType:
        workspace_id = self.instance.workspace_id if self.instance else self.context["request"].workspace.id
        return get_in_workspace(SimilarityType, value, workspace_id=workspace_id, field="type")

    def validate_meta_data(self, value: Any) -> dict[str, Any]:
        return parse_meta_data(value)
