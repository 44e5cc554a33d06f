"""The annotate API's bodies and query parameters as /api/schema/ describes them.

Its views read ``request.data`` and the query themselves (ids resolve in the task's workspace, a
member by user id), so these describe what they read, for clients and the API fuzz test.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from ximilar_platform.annotate.models import ImageReview
from ximilar_platform.annotate.queue import ORDERS
from ximilar_platform.annotate.reviews import STATUSES


def ids(**kwargs: object) -> serializers.ListField:
    return serializers.ListField(child=serializers.UUIDField(), **kwargs)


def member() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, help_text="A member's user id.")


def verification_body(owner: str) -> serializers.Serializer:
    """``{"<owner>_id", "user"}``: verify the owner for a member (default: the caller)."""
    return inline_serializer(
        f"{owner.title()}VerificationRequest", {f"{owner}_id": serializers.UUIDField(), "user": member()}
    )


def review_body() -> serializers.Serializer:
    return inline_serializer(
        "ImageReviewRequest",
        {
            "task_id": serializers.UUIDField(),
            "image_id": serializers.UUIDField(),
            "state": serializers.ChoiceField(ImageReview.State.choices, required=False),
            "comment": serializers.CharField(required=False, allow_blank=True, help_text="Required to reject."),
            "negative": serializers.BooleanField(required=False, allow_null=True),
        },
    )


def suggestion_run_body() -> serializers.Serializer:
    return inline_serializer(
        "SuggestionRunRequest",
        {
            "task_id": serializers.UUIDField(),
            "images": ids(required=False, help_text="None: the task's queue."),
            "status": serializers.ChoiceField(STATUSES, required=False),
            "version": serializers.IntegerField(required=False, allow_null=True, min_value=1),
        },
    )


def accept_above_body() -> serializers.Serializer:
    return inline_serializer(
        "AcceptAboveRequest",
        {
            "task_id": serializers.UUIDField(),
            "threshold": serializers.FloatField(min_value=0, max_value=1),
            "image_id": serializers.UUIDField(required=False),
        },
    )


def accepted_answer() -> serializers.Serializer:
    return inline_serializer(
        "AcceptedAbove",
        {
            "accepted": serializers.IntegerField(),
            "task_id": serializers.UUIDField(),
            "threshold": serializers.FloatField(),
        },
    )


def job_body() -> serializers.Serializer:
    return inline_serializer(
        "AnnotationJobRequest",
        {
            "task_id": serializers.UUIDField(),
            "name": serializers.CharField(required=False, max_length=255),
            "assignee": member(),
            "images": ids(required=False),
            "count": serializers.IntegerField(required=False, allow_null=True, min_value=1),
        },
    )


def job_change_body() -> serializers.Serializer:
    return inline_serializer(
        "AnnotationJobChange", {"name": serializers.CharField(required=False), "assignee": member()}
    )


TASK_PARAMETER = OpenApiParameter(
    "task_id", OpenApiTypes.UUID, required=True, description="A recognition or detection task."
)
QUEUE_PARAMETERS = [
    TASK_PARAMETER,
    OpenApiParameter("order", OpenApiTypes.STR, enum=ORDERS),
    OpenApiParameter("status", OpenApiTypes.STR, enum=STATUSES),
    OpenApiParameter("label", OpenApiTypes.UUID),
    OpenApiParameter("job", OpenApiTypes.UUID, description="Only the images of this annotation job."),
]
