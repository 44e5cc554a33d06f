"""Training image JSON (API_CONTRACT.md §1.1) and the upload payload."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel


class ImageLabelSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="label.id")
    name = serializers.CharField(source="label.name")
    type = serializers.CharField(source="label.type")
    output_name = serializers.CharField(source="label.output_name")
    negative_for_task = serializers.UUIDField(source="label.negative_for_task_id")

    class Meta:
        model = ImageLabel
        fields = ["id", "name", "type", "output_name", "negative_for_task", "value"]


class TrainingImageSerializer(serializers.ModelSerializer):
    img_path = serializers.SerializerMethodField()
    thumb_img_path = serializers.SerializerMethodField()
    img_width = serializers.IntegerField(source="width", read_only=True)
    img_height = serializers.IntegerField(source="height", read_only=True)
    verifyCount = serializers.IntegerField(source="verify_count", read_only=True)
    labels = ImageLabelSerializer(source="image_labels", many=True, read_only=True)
    meta_data = serializers.JSONField(required=False)

    class Meta:
        model = TrainingImage
        fields = [
            "id",
            "created",
            "img_path",
            "thumb_img_path",
            "img_width",
            "img_height",
            "meta_data",
            "test_image",
            "real",
            "verifyCount",
            "workspace",
            "labels",
        ]
        read_only_fields = ["created", "workspace"]

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_img_path(self, image: TrainingImage) -> str:
        return self._absolute(image.file.url)

    def get_thumb_img_path(self, image: TrainingImage) -> str:
        return self._absolute(image.thumbnail.url)

    def validate_meta_data(self, value: Any) -> dict[str, Any]:
        return parse_meta_data(value)


def parse_meta_data(value: Any) -> dict[str, Any]:
    """``meta_data`` is a JSON object; multipart forms send it as a JSON string."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise serializers.ValidationError("meta_data must be a JSON object.") from error
    if not isinstance(value, dict):
        raise serializers.ValidationError("meta_data must be a JSON object.")
    return value


@extend_schema_field(OpenApiTypes.STR)
class Base64Field(serializers.Field):
    """Base64 text, as sent. Not a CharField: its surrogate check is a Python loop over every character
    (14 ms for the 216 KB of a 640 px JPEG here, more than its decode), and the decoder refuses any
    character that is not base64 anyway."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value: str) -> str:
        return value


class UploadSerializer(serializers.Serializer):
    """One of ``base64``/``_base64``, a multipart ``img_path`` file, or ``_url``."""

    ALIASES = {"_base64": "base64", "_url": "url", "_width": "width", "_height": "height"}

    base64 = Base64Field(required=False, allow_null=True)
    url = serializers.CharField(required=False, allow_null=True)
    img_path = serializers.FileField(required=False, allow_null=True)
    width = serializers.IntegerField(required=False, min_value=1)
    height = serializers.IntegerField(required=False, min_value=1)
    meta_data = serializers.JSONField(required=False)
    noresize = serializers.BooleanField(required=False, default=False)
    test_image = serializers.BooleanField(required=False, default=False)
    real = serializers.BooleanField(required=False, default=False)
    labels = serializers.ListField(child=serializers.JSONField(), required=False, max_length=100)

    def validate_meta_data(self, value: Any) -> dict[str, Any]:
        return parse_meta_data(value)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Accept Ximilar's underscore names (``_base64``, ``_url``) beside the plain ones."""
        if hasattr(data, "keys"):
            data = {self.ALIASES.get(key, key): data.get(key) for key in data.keys()}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sources = [key for key in ("base64", "url", "img_path") if attrs.get(key)]
        if len(sources) != 1:
            raise serializers.ValidationError("Give exactly one image: base64, _base64, _url or an img_path file.")
        return attrs
