"""Search collection JSON (``similarity/training/v2/collection``): key, embedder, moves between embedders."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ximilar_platform.collections import reembedding
from ximilar_platform.collections.models import Collection, Reembedding
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.similarity.models import SimilarityTask


class ReembeddingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reembedding
        fields = ["id", "state", "task", "version", "done", "total", "error", "created", "started", "finished"]


TASK_NOT_FOUND = "Similarity task {pk_value} not found in the collection's workspace."


class CollectionSerializer(serializers.ModelSerializer):
    """A search collection; ``key`` is the ``collection-id`` header value that selects it.

    Changing the embedder (``task``, ``version``) of a collection with records does not change it
    at once: a re-embedding starts, reported under ``reembedding``, and switches when done.
    """

    task = serializers.PrimaryKeyRelatedField(
        queryset=SimilarityTask.objects.all(),
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": TASK_NOT_FOUND},
    )
    records_count = serializers.SerializerMethodField()
    reembedding = serializers.SerializerMethodField()

    class Meta:
        model = Collection
        fields = [
            "id",
            "key",
            "name",
            "task",
            "version",
            "follow_production",
            "dimension",
            "records_count",
            "reembedding",
            "workspace",
            "created",
        ]
        read_only_fields = ["dimension", "workspace", "created"]

    def get_records_count(self, collection: Collection) -> int:
        return collection.records.count()

    def get_reembedding(self, collection: Collection) -> dict[str, Any] | None:
        job = reembedding.latest(collection)
        return ReembeddingSerializer(job).data if job else None

    def workspace(self) -> Any:
        return self.instance.workspace if self.instance else self.context["request"].workspace

    def validate_task(self, task: SimilarityTask | None) -> SimilarityTask | None:
        if task is not None and task.workspace_id != self.workspace().id:  # reads exactly like a missing one
            raise serializers.ValidationError(TASK_NOT_FOUND.format(pk_value=task.pk))
        return task

    def validate_key(self, key: str) -> str:
        others = Collection.objects.filter(workspace=self.workspace(), key=key)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise Conflict(f"A collection with the key '{key}' already exists in this workspace.")
        return key

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A new embedder for a collection with records is kept aside in ``move_to`` for a re-embedding."""
        self.move_to = None
        if attrs.get("version") is not None and "follow_production" not in attrs:
            attrs["follow_production"] = False  # a version asked for is kept
        if self.instance is None:
            return attrs
        changed = [
            name for name in ("task", "version") if name in attrs and attrs[name] != getattr(self.instance, name)
        ]
        if changed and self.instance.records.exists():
            task = attrs.pop("task", self.instance.task)
            version = attrs.pop("version", None if "task" in changed else self.instance.version)
            self.move_to = (task, version)
        elif changed:
            attrs["dimension"] = None  # an empty collection takes the new embedder's size at its next record
        return attrs
