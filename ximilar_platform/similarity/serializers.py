"""Similarity type, task and group JSON as the official client reads it (API_CONTRACT.md §3.1, group traps)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ximilar_platform.core.api.lookups import get_in_workspace
from ximilar_platform.detection.serializers import DetectionObjectSerializer
from ximilar_platform.images.serializers import TrainingImageSerializer, parse_meta_data
from ximilar_platform.similarity import reembedding
from ximilar_platform.similarity.models import (
    Collection,
    Reembedding,
    SimilarityGroup,
    SimilarityTask,
    SimilarityType,
)
from ximilar_platform.training_jobs.models import TaskKind
from ximilar_platform.training_jobs.serializers import DeployableTaskSerializer


class SimilarityTypeSerializer(serializers.ModelSerializer):
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")

    class Meta:
        model = SimilarityType
        fields = ["id", "name", "description", "workspace", "created"]
        read_only_fields = ["workspace", "created"]

    def validate_description(self, value: str | None) -> str:
        return value or ""


class SimilarityTaskSerializer(DeployableTaskSerializer):
    task_kind = TaskKind.SIMILARITY
    types = SimilarityTypeSerializer(many=True, read_only=True)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")

    class Meta:
        model = SimilarityTask
        fields = ["id", "name", "description", "types", "production_version", "last_train_status", "arch",
                  "workspace", "created"]
        read_only_fields = ["last_train_status", "workspace", "created"]

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def validate_arch(self, value: str) -> str:
        from training.backbones import ARCHITECTURES

        if value and value not in ARCHITECTURES:
            known = ", ".join(sorted(ARCHITECTURES))
            raise serializers.ValidationError(f"Unknown architecture; choose one of {known}.")
        return value


class SimilarityGroupSerializer(serializers.ModelSerializer):
    """``type`` is nested on read (the client's refresh reads ``type.workspace``) and an id or object on write."""

    type = serializers.JSONField()
    # no defaults: the client's update_stype PUTs only the type, which must not clear the name
    name = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    meta_data = serializers.JSONField(required=False, allow_null=True)
    images = serializers.SerializerMethodField()
    groups = serializers.SerializerMethodField()
    detection_objects = serializers.SerializerMethodField()

    class Meta:
        model = SimilarityGroup
        fields = ["id", "name", "description", "type", "meta_data", "test_group", "images", "groups",
                  "detection_objects", "workspace", "created"]
        read_only_fields = ["workspace", "created"]

    def to_representation(self, group: SimilarityGroup) -> dict[str, Any]:
        body = super().to_representation(group)
        body["type"] = SimilarityTypeSerializer(group.type).data
        return body

    def get_images(self, group: SimilarityGroup) -> list[dict]:
        return TrainingImageSerializer(group.images.all(), many=True, context=self.context).data

    def get_groups(self, group: SimilarityGroup) -> list[dict]:
        return [{"id": str(child.id), "name": child.name, "description": child.description,
                 "type": SimilarityTypeSerializer(child.type).data, "meta_data": child.meta_data,
                 "test_group": child.test_group} for child in group.groups.all()]

    def get_detection_objects(self, group: SimilarityGroup) -> list[dict]:
        return DetectionObjectSerializer(group.detection_objects.all(), many=True, context=self.context).data

    def validate_type(self, value: Any) -> SimilarityType:
        workspace_id = self.instance.workspace_id if self.instance else self.context["request"].workspace.id
        return get_in_workspace(SimilarityType, value, workspace_id=workspace_id, field="type")

    def validate_name(self, value: str | None) -> str:
        return value or ""

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def validate_meta_data(self, value: Any) -> dict[str, Any]:
        return parse_meta_data(value)


class ReembeddingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reembedding
        fields = ["id", "state", "task", "version", "done", "total", "error", "created", "started", "finished"]


class CollectionSerializer(serializers.ModelSerializer):
    """A search collection; ``key`` is the ``collection-id`` header value that selects it.

    Changing the embedder (``task``, ``version``) of a collection with records does not change it
    at once: a re-embedding starts, reported under ``reembedding``, and switches when done.
    """

    task = serializers.PrimaryKeyRelatedField(queryset=SimilarityTask.objects.all(), allow_null=True, required=False)
    records_count = serializers.SerializerMethodField()
    reembedding = serializers.SerializerMethodField()

    class Meta:
        model = Collection
        fields = ["id", "key", "name", "task", "version", "follow_production", "dimension", "records_count",
                  "reembedding", "workspace", "created"]
        read_only_fields = ["dimension", "workspace", "created"]

    def get_records_count(self, collection: Collection) -> int:
        return collection.records.count()

    def get_reembedding(self, collection: Collection) -> dict[str, Any] | None:
        job = reembedding.latest(collection)
        return ReembeddingSerializer(job).data if job else None

    def validate_task(self, task: SimilarityTask | None) -> SimilarityTask | None:
        workspace = self.instance.workspace if self.instance else self.context["request"].workspace
        if task is not None and task.workspace_id != workspace.id:
            raise serializers.ValidationError("The similarity task must be in the collection's workspace.")
        return task

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A new embedder for a collection with records is kept aside in ``move_to`` for a re-embedding."""
        self.move_to = None
        if attrs.get("version") is not None and "follow_production" not in attrs:
            attrs["follow_production"] = False  # a version asked for is kept
        if self.instance is None:
            return attrs
        changed = [name for name in ("task", "version")
                   if name in attrs and attrs[name] != getattr(self.instance, name)]
        if changed and self.instance.records.exists():
            task = attrs.pop("task", self.instance.task)
            version = attrs.pop("version", None if "task" in changed else self.instance.version)
            self.move_to = (task, version)
        elif changed:
            attrs["dimension"] = None  # an empty collection takes the new embedder's size at its next record
        return attrs
