"""Detection task, label and object JSON as the official client reads it (API_CONTRACT.md §2.1)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import NotFound

from ximilar_platform.core.api.fields import OptionalText
from ximilar_platform.core.api.lookups import get_in_workspace, parse_uuid
from ximilar_platform.detection import services
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.image_serializers import TrainingImageSerializer
from ximilar_platform.training_jobs.serializers import TrainableTaskSerializer


class DetectionLabelBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = DetectionLabel
        fields = ["id", "name", "color", "output_name"]


class DetectionTaskSerializer(TrainableTaskSerializer):
    labels = DetectionLabelBriefSerializer(many=True, read_only=True)
    negative_images_count = serializers.SerializerMethodField()

    class Meta:
        model = DetectionTask
        fields = [*TrainableTaskSerializer.TASK_FIELDS, "labels", "negative_images_count"]
        read_only_fields = ["workspace", "created"]

    def architectures(self) -> Collection[str]:
        from training.detection import DETECTORS

        return DETECTORS

    def get_negative_images_count(self, task: DetectionTask) -> int:
        return task.negative_images.count()


class DetectionLabelSerializer(serializers.ModelSerializer):
    description = OptionalText()
    output_name = OptionalText()
    color = serializers.RegexField(
        r"^#[0-9A-Fa-f]{6}$",
        required=False,
        default="#FFFFFF",
        error_messages={"invalid": "Give the colour as #RRGGBB."},
    )
    recognition_tasks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = DetectionLabel
        fields = ["id", "name", "description", "color", "output_name", "recognition_tasks", "workspace", "created"]
        read_only_fields = ["workspace", "created"]


class ObjectRecognitionLabelSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="label.id")
    name = serializers.CharField(source="label.name")
    type = serializers.CharField(source="label.type")
    value = serializers.FloatField(allow_null=True)


class DetectionObjectSerializer(serializers.ModelSerializer):
    """Reads nest ``image`` and ``detection_label``; writes take either as an id or as an object with ``id``."""

    # not required on PUT: the client's add_meta_data sends only data, detection_label and meta_data
    image = serializers.JSONField(required=False)
    detection_label = serializers.JSONField(required=False)
    data = serializers.JSONField(required=False)
    meta_data = serializers.JSONField(required=False, allow_null=True)
    recognition_labels = ObjectRecognitionLabelSerializer(source="object_labels", many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DetectionObject
        fields = [
            "id",
            "image",
            "detection_label",
            "data",
            "meta_data",
            "recognition_labels",
            "workspace",
            "created",
            "created_by",
            "updated",
            "updated_by",
        ]
        read_only_fields = ["workspace", "created", "updated"]

    def to_representation(self, obj: DetectionObject) -> dict[str, Any]:
        body = super().to_representation(obj)
        body["image"] = TrainingImageSerializer(obj.image, context=self.context).data
        body["detection_label"] = DetectionLabelBriefSerializer(obj.detection_label).data
        return body

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The image and the label share one workspace (the image's); the box fits the image."""
        if self.instance is None:
            missing = [name for name in ("image", "detection_label", "data") if attrs.get(name) is None]
            if missing:
                raise serializers.ValidationError({name: ["This field is required."] for name in missing})
        image = attrs.get("image", self.instance.image if self.instance else None)
        label = attrs.get("detection_label", self.instance.detection_label if self.instance else None)
        if not isinstance(image, TrainingImage):
            image = TrainingImage.objects.filter(
                id=parse_uuid(image, "image"), workspace__in=self.context["workspaces"]
            ).first()
            if image is None:
                raise NotFound("Training image not found.")
        if not isinstance(label, DetectionLabel):
            label = get_in_workspace(DetectionLabel, label, workspace_id=image.workspace_id, field="detection_label")
        if label.workspace_id != image.workspace_id:  # an object moved to another workspace's image
            raise NotFound("Detection label not found in the image's workspace.")
        attrs["image"], attrs["detection_label"] = image, label
        if "data" in attrs or self.instance is None:
            attrs["data"] = services.parse_box(attrs.get("data"), image)
        elif attrs["image"] != self.instance.image:
            services.parse_box(self.instance.data, image)
        if "meta_data" in attrs:
            attrs["meta_data"] = _meta_data(attrs["meta_data"])
        return attrs


def _meta_data(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise serializers.ValidationError({"meta_data": ["Give meta_data as a JSON object."]})
    return value
