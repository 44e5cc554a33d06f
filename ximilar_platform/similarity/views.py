"""``similarity/training/v2/type``, ``task`` and ``group``."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.core.api.lookups import parse_uuid_list
from ximilar_platform.core.api.relations import link_action, relation_action
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


def mark_test_body() -> serializers.Serializer:
    """What ``group/update`` reads (the view reads ``request.data`` itself: the keys have dashes)."""
    groups = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=settings.MAX_BULK_IMAGES)
    flags = {name: serializers.BooleanField(required=False) for name in ("mark-test", "unmark-test")}
    return inline_serializer("GroupsMarkTest", {"groups": groups, **flags})


class SimilarityTypeViewSet(WorkspaceScopedViewSet):
    queryset = SimilarityType.objects.order_by("created", "id")
    serializer_class = SimilarityTypeSerializer


class SimilarityTaskViewSet(TrainableTaskViewSet):
    queryset = SimilarityTask.objects.prefetch_related("types").order_by("created", "id")
    serializer_class = SimilarityTaskSerializer

    add_type = link_action("add-type", SimilarityType, "type_id", "types")
    remove_type = link_action("remove-type", SimilarityType, "type_id", "types", remove=True)


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

    # a group holds images (and objects) or groups, never both: adding checks it (services)
    add_images = relation_action(
        "add-images", TrainingImage, "images", services.add_images, names=("group", "images"), many=True
    )
    remove_images = link_action("remove-images", TrainingImage, "images", "images", remove=True, many=True)
    add_objects = relation_action(
        "add-objects", DetectionObject, "objects", services.add_objects, names=("group", "objects"), many=True
    )
    remove_objects = link_action(
        "remove-objects", DetectionObject, "objects", "detection_objects", remove=True, many=True
    )
    add_groups = relation_action(
        "add-groups", SimilarityGroup, "groups", services.add_groups, names=("group", "children"), many=True
    )
    remove_groups = link_action("remove-groups", SimilarityGroup, "groups", "groups", remove=True, many=True)

    @extend_schema(
        request=mark_test_body(),
        responses={200: inline_serializer("GroupsUpdated", {"updated": serializers.IntegerField()})},
    )
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
