"""JSON of verifications, suggestions, suggestion runs, reviews, queue entries and annotation jobs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ximilar_platform.annotate.assignments import job_progress
from ximilar_platform.annotate.models import (
    AnnotationJob,
    GroupVerification,
    ImageReview,
    Suggestion,
    SuggestionRun,
    Verification,
)
from ximilar_platform.annotate.reviews import status_name
from ximilar_platform.annotate.tasks import task_of
from ximilar_platform.images.models import TrainingImage


class VerificationSerializer(serializers.ModelSerializer):
    image_id = serializers.UUIDField(source="image.id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Verification
        fields = ["id", "user", "username", "image", "image_id", "created"]
        read_only_fields = fields


class GroupVerificationSerializer(serializers.ModelSerializer):
    group_id = serializers.UUIDField(source="group.id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = GroupVerification
        fields = ["id", "user", "username", "group", "group_id", "created"]
        read_only_fields = fields


class SuggestionSerializer(serializers.ModelSerializer):
    """``detection_label`` (with ``data``, a box in stored-image pixels) or ``label``; ``version`` its number."""

    version = serializers.IntegerField(source="version.version", read_only=True)
    label_name = serializers.SerializerMethodField()

    class Meta:
        model = Suggestion
        fields = [
            "id",
            "image",
            "task_id",
            "task_kind",
            "version",
            "detection_label",
            "label",
            "label_name",
            "data",
            "score",
            "state",
            "accepted_object",
            "decided_by",
            "created",
        ]
        read_only_fields = fields

    def get_label_name(self, suggestion: Suggestion) -> str:
        label = suggestion.detection_label or suggestion.label
        return label.name if label else ""


class SuggestionRunSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.version", read_only=True)
    images = serializers.SerializerMethodField()

    class Meta:
        model = SuggestionRun
        fields = [
            "id",
            "task_id",
            "task_kind",
            "version",
            "state",
            "done",
            "total",
            "error",
            "images",
            "created",
            "started",
            "finished",
        ]
        read_only_fields = fields

    def get_images(self, run: SuggestionRun) -> int:
        return len(run.images)


class ImageReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImageReview
        fields = ["id", "image", "task_id", "task_kind", "state", "comment", "annotated_by", "reviewed_by", "updated"]
        read_only_fields = fields


class QueueImageSerializer(serializers.ModelSerializer):
    """An image of a task's queue: where to fetch it, its status there and how certain the model is."""

    img_path = serializers.SerializerMethodField()
    thumb_img_path = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    comment = serializers.CharField(source="review_comment", allow_null=True)
    certainty = serializers.FloatField(allow_null=True)

    class Meta:
        model = TrainingImage
        fields = [
            "id",
            "img_path",
            "thumb_img_path",
            "width",
            "height",
            "verify_count",
            "test_image",
            "status",
            "comment",
            "certainty",
        ]
        read_only_fields = fields

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_status(self, image: TrainingImage) -> str:
        return status_name(image.status_rank)

    def get_img_path(self, image: TrainingImage) -> str:
        return self._absolute(image.file.url)

    def get_thumb_img_path(self, image: TrainingImage) -> str:
        return self._absolute(image.thumbnail.url)


class AnnotationJobSerializer(serializers.ModelSerializer):
    assignee_name = serializers.CharField(source="assignee.username", read_only=True, default=None)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = AnnotationJob
        fields = ["id", "name", "task_id", "task_kind", "assignee", "assignee_name", "progress", "created"]
        read_only_fields = fields

    def get_progress(self, job: AnnotationJob) -> dict[str, Any]:
        return job_progress(task_of(job.task_kind, job.task_id), job)
