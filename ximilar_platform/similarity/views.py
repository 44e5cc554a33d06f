"""``similarity/training/v2/type``, ``task`` and ``group``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.core.api.lookups import parse_uuid_list
from ximilar_platform.core.api.relations import relation_action
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.similarity import services
from ximilar_platform.similarity.filters import SimilarityGroupFilterSet
from ximilar_platform.similarity.models import SimilarityGroup, SimilarityTask, SimilarityType
from ximilar_platform.similarity.serializers import (
    SimilarityGroupSerializer,
    SimilarityTaskSerializer,
    SimilarityTypeSerializer,
)
from ximilar_platform.training_jobs.views import TrainableTaskViewSet


class SimilarityTypeViewSet(WorkspaceScopedViewSet):
    queryset = SimilarityType.objects.order_by("created", "id")
    serializer_class = SimilarityTypeSerializer


class SimilarityTaskViewSet(TrainableTaskViewSet):
    queryset = SimilarityTask.objects.prefetch_related("types").order_by("created", "id")
    serializer_class = SimilarityTaskSerializer

    add_type = relation_action("add-type", SimilarityType, "type_id", services.add_type, names=("task", "type"))
    remove_type = relation_action(
        "remove-type", SimilarityType, "type_id", services.remove_type, names=("task", "type")
    )


def members(url_path: str, model: type, field: str, change: Any, name: str) -> Any:
    """A relation action over a list of ids (``{"images": [...]}``) of the group's workspace."""
    return relation_action(url_path, model, field, change, names=("group", name), many=True)


class SimilarityGroupViewSet(WorkspaceScopedViewSet):
    queryset = (
        SimilarityGroup.objects.select_related("type")
        .prefetch_related(
            "images__image_labels__label",
            "groups__type",
            "detection_objects__image",
            "detection_objects__detection_label",
        )
        .order_by("created", "id")
    )
    serializer_class = SimilarityGroupSerializer
    filterset_class = SimilarityGroupFilterSet

    add_images = members("add-images", TrainingImage, "images", services.add_images, "images")
    remove_images = members("remove-images", TrainingImage, "images", services.remove_images, "images")
    add_objects = members("add-objects", DetectionObject, "objects", services.add_objects, "objects")
    remove_objects = members("remove-objects", DetectionObject, "objects", services.remove_objects, "objects")
    add_groups = members("add-groups", SimilarityGroup, "groups", services.add_groups, "children")
    remove_groups = members("remove-groups", SimilarityGroup, "groups", services.remove_groups, "children")

    @action(detail=False, methods=["post"], url_path="update")
    def mark_test(self, request: Request) -> Response:
        """``{"groups": [ids], "mark-test": true}`` or ``"unmark-test": true``: (un)mark test groups."""
        ids = parse_uuid_list(request.data.get("groups"), "groups", limit=settings.MAX_BULK_IMAGES)
        if not ids:
            raise ValidationError({"groups": ["Give a non-empty list of group ids."]})
        mark, unmark = bool(request.data.get("mark-test")), bool(request.data.get("unmark-test"))
        if mark == unmark:
            raise ValidationError({"mark-test": ["Give exactly one of mark-test and unmark-test."]})
        groups = SimilarityGroup.objects.filter(id__in=ids)
        if request.workspace_explicit:
            groups = groups.filter(workspace=request.workspace)
        else:
            groups = groups.filter(workspace__in=request.user.workspaces.all())
        return Response({"updated": services.mark_test_groups(groups=groups, test=mark)})
